// The daemon as an operator runs it: a real `ssh-egress daemon` process against real sshd, driven by
// signals and real clients. Reload keeps unchanged tunnels, a bad reload changes nothing, SIGTERM drains.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { apiserverRequest, ESTABLISHED, sendConnect } from '../integration/http-connect-client.js';
import { DaemonProcess, metricValue } from './daemon-process.js';
import { loadTopology, sshdSessions } from './topology.js';

const t = loadTopology();
const configFile = join(t.dir, 'daemon.yaml');
const inventoryFile = join(t.dir, 'daemon-nodes.yaml');
const socketPath = join(t.dir, 'egress.sock');
const admin = '127.0.0.1:18132';
let daemon: DaemonProcess;

function writeConfig(nodes: string[], extra: Record<string, unknown> = {}): void {
  writeFileSync(inventoryFile, stringify({ nodes: t.nodes.filter((n) => nodes.includes(n.name)).map((n) => ({ name: n.name, address: n.address, podCIDRs: [n.podCIDR] })) }));
  writeFileSync(
    configFile,
    stringify({
      ssh: { user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile },
      healthCheck: { caFile: t.kubeletCaFile },
      inventory: { file: inventoryFile },
      cluster: { serviceCIDRs: [t.serviceCIDR] },
      listeners: { connect: { socket: { path: socketPath, mode: '0600' } }, socks: { listen: '127.0.0.1:11080' }, admin: { listen: admin } },
      drain: { graceMs: 10_000 },
      log: { level: 'info', format: 'json' },
      ...extra,
    }),
  );
}

const get = (path: string) => daemon.get(path);
const waitUntil = (what: string, check: () => Promise<boolean>) => daemon.waitUntil(what, check);

const sshSessions = (): Promise<string[]> => sshdSessions(t);

before(async () => {
  writeConfig(['n1', 'n2', 'n3']);
  daemon = new DaemonProcess(['--config', configFile], admin);
  await waitUntil('all tunnels READY', async () => (await get('/readyz')).status === 200 && JSON.parse((await get('/status')).body).tunnels.every((s: { state: string }) => s.state === 'READY'));
});

after(() => daemon.kill());

test('kube-apiserver\'s exact CONNECT bytes over the Unix socket reach a pod through its node', async () => {
  const socket = net.connect(socketPath);
  const pod = t.nodes[1]!.podIPs[0]!;
  const reply = await sendConnect(socket, apiserverRequest(`${pod}:${t.ports.podHttp}`));
  assert.equal(reply.head, ESTABLISHED);
  assert.equal(reply.extra.length, 0, 'nothing follows the 200 before the client speaks');
  socket.write(`GET /whoami HTTP/1.1\r\nHost: ${pod}\r\nConnection: close\r\n\r\n`);
  let body = '';
  for await (const chunk of socket) body += (chunk as Buffer).toString();
  assert.match(body, new RegExp(`"node":"n2","addr":"${pod.replace(/\./g, '\\.')}"`));
});

test('/metrics parses as Prometheus text and counts what happened', async () => {
  const { status, body } = await get('/metrics');
  assert.equal(status, 200);
  assert.equal(metricValue(body, 'ssh_egress_tunnels', { state: 'READY' }), 3);
  assert.ok(metricValue(body, 'ssh_egress_tunnel_connects_total') >= 3);
  assert.ok(metricValue(body, 'ssh_egress_dials_total', { route: 'pod', result: 'success' }) >= 1);
});

test('SIGHUP reload: a removed node drains, unchanged nodes keep their very SSH connections', async () => {
  const before = await sshSessions();
  const connectsBefore = metricValue((await get('/metrics')).body, 'ssh_egress_tunnel_connects_total');
  writeConfig(['n1', 'n2']);
  daemon.child.kill('SIGHUP');
  await waitUntil('n3 to leave', async () => JSON.parse((await get('/status')).body).tunnels.every((s: { node: string }) => s.node !== 'n3'));
  const afterReload = await sshSessions();
  for (const session of before.filter((s) => !s.startsWith('n3:'))) assert.ok(afterReload.includes(session), `${session} survived the reload`);
  assert.equal(metricValue((await get('/metrics')).body, 'ssh_egress_tunnel_connects_total'), connectsBefore, 'no reconnects');
});

test('a reload with a bad config is rejected with a reason and the running config stays', async () => {
  writeFileSync(configFile, 'ssh: { user: root }\ninventory: { file: nowhere.yaml }\nlisteners: { bogus: 1 }\n');
  daemon.child.kill('SIGHUP');
  await waitUntil('the rejection in the log', async () => /reload rejected, keeping the running config/.test(daemon.stderr));
  assert.match(daemon.stderr, /listeners\.bogus: unknown field/);
  const status = JSON.parse((await get('/status')).body);
  assert.deepEqual(status.tunnels.map((s: { node: string; state: string }) => `${s.node} ${s.state}`), ['n1 READY', 'n2 READY']);
});

test('SIGTERM drains: an open stream finishes, new connections are refused, the process exits 0', async () => {
  const socket = net.connect(socketPath);
  const reply = await sendConnect(socket, apiserverRequest(`${t.nodes[0]!.podIPs[0]}:${t.ports.echo}`));
  assert.equal(reply.head, ESTABLISHED);
  const exited = once(daemon.child, 'exit');
  daemon.child.kill('SIGTERM');
  await waitUntil('drain to start', async () => /"message":"draining"/.test(daemon.stderr));
  await assert.rejects(
    new Promise((resolve, reject) => net.connect(socketPath).once('connect', resolve).once('error', reject)),
    'the listener is closed during the drain',
  );
  const echoed: Buffer[] = [];
  socket.on('data', (c: Buffer) => echoed.push(c));
  socket.resume();
  socket.end('still flowing after SIGTERM');
  await once(socket, 'close');
  assert.equal(Buffer.concat(echoed).toString(), 'still flowing after SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(daemon.stderr, /ssh-egress daemon stopped/);
});
