// Child process for the scale benchmark: many in-process fake sshd nodes (src/simulator's FakeSshNode), each
// forwarding a channel to the kubelet port to one shared HTTPS /healthz server (for health probes) and every
// other channel to an in-memory echo, so the pool process can be measured on its own.
// argv: <count> <dir> <user>. Writes <dir>/id_ed25519 and <dir>/known_hosts, then sends { ready: NodeAddress[] }.
// Takes { handshakeDelayMs } over IPC (answered with { delaySet }).
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import ssh2 from 'ssh2';
import { DEFAULT_KUBELET_PORT } from '../../src/nodes/node-spec.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { FakeSshNode } from '../../src/simulator/fake-node.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { spreadAddress } from './spread-address.js';

export interface NodeAddress {
  name: string;
  address: string;
  port: number;
}

const count = Number(process.argv[2]);
const dir = process.argv[3] as string;
const user = process.argv[4] as string;
const client = generateEd25519('bench@scale');
const host = generateEd25519();
const hostKey = ssh2.utils.parseKey(host.public);
if (hostKey instanceof Error || Array.isArray(hostKey)) throw new Error('cannot parse the host key');
const hostPublic = `${hostKey.type} ${hostKey.getPublicSSH().toString('base64')}`;

const ca = await createClusterCa();
const kubelet = https.createServer(await ca.issue({ commonName: 'kubelet', ips: [], dnsNames: ['kubelet'] }).then((c) => ({ cert: c.certPem, key: c.keyPem })), (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
});
await new Promise<void>((resolve) => kubelet.listen(0, '127.0.0.1', resolve));
const kubeletAddress = kubelet.address() as net.AddressInfo;

const nodes: FakeSshNode[] = [];
for (let i = 0; i < count; i++) {
  nodes.push(
    new FakeSshNode({
      name: `s${i + 1}`,
      address: spreadAddress(i), // each with its own ephemeral port
      port: 0,
      hostKey: host.private,
      user,
      authorizedKey: client.public,
      openStream: async (_host, port) => (port === DEFAULT_KUBELET_PORT ? net.connect(kubeletAddress.port, '127.0.0.1') : new PassThrough()),
      onServed: () => undefined,
      setKubeletHealthy: () => undefined,
    }),
  );
}
await Promise.all(nodes.map((n) => n.start()));
const addresses: NodeAddress[] = nodes.map((n, i) => ({ name: n.name, address: spreadAddress(i), port: n.listenPort }));
writeFileSync(path.join(dir, 'id_ed25519'), client.private, { mode: 0o600 });
writeFileSync(path.join(dir, 'known_hosts'), addresses.map((a) => `[${a.address}]:${a.port} ${hostPublic}`).join('\n') + '\n');
process.on('disconnect', () => process.exit(0));
// { handshakeDelayMs }: every node waits that long before its banner from now on, like a real sshd's fork and re-exec.
process.on('message', (msg: { handshakeDelayMs?: number }) => {
  if (msg.handshakeDelayMs === undefined) return;
  for (const node of nodes) node.setHandshakeDelay(msg.handshakeDelayMs);
  process.send?.({ delaySet: msg.handshakeDelayMs });
});
process.send?.({ ready: addresses });
