// The library against real OpenSSH sshd, from inside the control-plane namespace: every kind of target
// goes through the node that owns it, bytes arrive intact, and what only a tunnel can reach stays so.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Dialer, HostKeyMismatchError, TunnelPool, loadInventory } from '../../src/index.js';
import { loadTopology } from './topology.js';
import { roundTrip, sha256 } from '../support/streams.js';

const t = loadTopology();
let pool: TunnelPool;
let dialer: Dialer;

before(async () => {
  pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile });
  pool.setNodes(await loadInventory(t.inventoryFile));
  await pool.ready({ timeoutMs: 15_000 });
  dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
});

after(async () => {
  await pool?.close();
});

async function get(agent: http.Agent, url: string): Promise<{ status: number; body: string; node: string | undefined }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, node: (req.socket as { node?: string }).node }));
    });
    req.on('error', reject);
  });
}

test('every tunnel is READY with the host key known_hosts pins', () => {
  const status = pool.status();
  assert.equal(status.length, t.nodes.length);
  for (const node of t.nodes) {
    const s = status.find((x) => x.node === node.name);
    assert.equal(s?.state, 'READY');
    assert.equal(s?.hostKeyFingerprint, node.hostKeyFingerprint);
  }
});

test('each kubelet answers over HTTPS verified against the cluster CA, through its own node', async () => {
  const agent = dialer.httpsAgent({ ca: readFileSync(t.kubeletCaFile), keepAlive: false });
  for (const node of t.nodes) {
    const health = await get(agent, `https://${node.address}:${t.ports.kubelet}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.trim(), 'ok');
    const who = JSON.parse((await get(agent, `https://${node.name}:${t.ports.kubelet}/whoami`)).body);
    assert.equal(who.node, node.name);
  }
  agent.destroy();
});

test('a kubelet target object dials that node\'s kubelet port', async () => {
  for (const node of t.nodes) {
    const stream = await dialer.dial({ kind: 'kubelet', node: node.name });
    assert.equal(stream.node, node.name);
    assert.equal(stream.remoteAddress, node.address);
    assert.equal(stream.remotePort, t.ports.kubelet);
    stream.destroy();
  }
});

test('pod IPs are reached only through their own node, which the control plane cannot bypass', async () => {
  const agent = dialer.httpAgent({ keepAlive: false });
  for (const node of t.nodes) {
    for (const podIP of node.podIPs) {
      const r = await get(agent, `http://${podIP}:${t.ports.podHttp}/whoami`);
      assert.equal(r.status, 200);
      assert.equal(r.node, node.name, 'the stream went through the owning node');
      assert.deepEqual(JSON.parse(r.body), { node: node.name, addr: podIP, port: t.ports.podHttp });
    }
  }
  agent.destroy();
  const podIP = t.nodes[0]!.podIPs[0]!;
  const direct = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const s = net.connect({ host: podIP, port: t.ports.podHttp, timeout: 3000 });
    s.once('connect', () => {
      s.destroy();
      resolve(undefined);
    });
    s.once('timeout', () => {
      s.destroy();
      resolve(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    });
    s.once('error', resolve);
  });
  assert.ok(direct, `a direct connection to ${podIP} must fail`);
  assert.equal(direct.code, 'ENETUNREACH');
});

test('ClusterIP streams spread over the nodes', async () => {
  const agent = dialer.httpAgent({ keepAlive: false });
  const seen = new Set<string>();
  for (let i = 0; i < t.nodes.length * 2; i++) {
    const r = await get(agent, `http://${t.clusterIP}:${t.ports.podHttp}/whoami`);
    const who = JSON.parse(r.body) as { node: string };
    assert.equal(who.node, r.node, 'the node that carried the stream is the one that answered');
    seen.add(who.node);
  }
  assert.deepEqual([...seen].sort(), t.nodes.map((n) => n.name).sort());
  agent.destroy();
});

test('8 MiB round-trip intact to a pod and to the ClusterIP (sha256)', async () => {
  const payload = randomBytes(8 * 1024 * 1024);
  for (const target of [`${t.nodes[1]!.podIPs[1]}:${t.ports.echo}`, `${t.clusterIP}:${t.ports.echo}`]) {
    const echoed = await roundTrip(await dialer.dial(target), payload);
    assert.equal(echoed.length, payload.length, target);
    assert.equal(sha256(echoed), sha256(payload), target);
  }
});

test('many concurrent streams over one tunnel each get their own bytes back', async () => {
  const podIP = t.nodes[2]!.podIPs[0]!;
  const results = await Promise.all(
    Array.from({ length: 50 }, async () => {
      const payload = randomBytes(64 * 1024);
      const echoed = await roundTrip(await dialer.dial(`${podIP}:${t.ports.echo}`), payload);
      return sha256(echoed) === sha256(payload);
    }),
  );
  assert.ok(results.every(Boolean));
});

test('a host key that does not match known_hosts refuses the node and names both fingerprints', async () => {
  const node = t.nodes[0]!;
  const wrong = join(t.dir, 'known_hosts.wrong');
  const other = t.nodes[1]!;
  writeFileSync(wrong, `${node.address} ${other.hostPublicKey}\n`);
  const strict = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: wrong });
  try {
    strict.setNodes([{ name: node.name, address: node.address, aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {} }]);
    await new Promise<void>((resolve) => strict.on('stateChange', (c) => c.to === 'TRANSIENT_FAILURE' && resolve()));
    await assert.rejects(strict.ready({ timeoutMs: 50 }), /host key mismatch/);
    const [status] = strict.status();
    assert.equal(status?.lastError?.code, 'ERR_HOST_KEY_MISMATCH');
    assert.match(status!.lastError!.message, new RegExp(`expected ${escape(other.hostKeyFingerprint)}, got ${escape(node.hostKeyFingerprint)}`));
    const err = await new Dialer(strict).dial({ kind: 'kubelet', node: node.name }).catch((e: unknown) => e);
    assert.ok((err as Error).cause instanceof HostKeyMismatchError, 'dials fail fast with the mismatch as cause');
  } finally {
    await strict.close();
  }
});

test('the CLI pipes stdin/stdout through the owning node and works as an OpenSSH ProxyCommand', async () => {
  const cli = ['node', '--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'dial'];
  const common = ['--inventory', t.inventoryFile, '-l', t.user, '-i', t.identityFile, '--known-hosts', t.knownHostsFile];
  const payload = randomBytes(512 * 1024);
  const echoed = await run(cli[0]!, [...cli.slice(1), ...common, `${t.nodes[2]!.podIPs[0]}:${t.ports.echo}`], payload);
  assert.equal(echoed.code, 0, echoed.stderr);
  assert.equal(sha256(echoed.stdout), sha256(payload));

  const proxy = [...cli, ...common, '%h:%p'].join(' ');
  const node = t.nodes[1]!;
  const ssh = await run('ssh', [
    '-F', '/dev/null', '-i', t.identityFile, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${t.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', `ProxyCommand=${proxy}`,
    `${t.user}@${node.name}`, 'cat /proc/sys/kernel/hostname; ip -o -4 addr show dev eth0',
  ]);
  assert.equal(ssh.code, 0, ssh.stderr);
  assert.match(ssh.stdout.toString(), new RegExp(`inet ${escape(node.address)}/`), 'the ssh session ran on the node');

  const refused = await run(cli[0]!, [...cli.slice(1), ...common, '192.0.2.1:443']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /no route to 192\.0\.2\.1:443/);
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function run(cmd: string, args: string[], input?: Buffer): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code as number) ?? 1 : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr.toString() });
    });
    child.stdin?.end(input ?? Buffer.alloc(0));
  });
}
