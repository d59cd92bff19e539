// Daemon.reload() applies every section in place: pool settings to new work without a reconnect, front-end
// limits at once, a moved listener rebound (new socket first, streams on the old one kept), and a listener
// that cannot bind rejects the whole reload. One log line names what changed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { configFromFlags, type EgressConfig } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { nextState } from '../support/next-state.js';
import { createTestCa } from '../unit/tls-test-pki.js';
import { freePort, refused } from '../support/free-port.js';
import { captureLogger } from '../unit/capture-logger.js';
import { echoRound, httpConnect, waitFor } from './limits-helpers.js';

let cluster: SimulatedCluster;
let daemon: Daemon;
let config: EgressConfig;
const logs = captureLogger();

const echo = (): string => `${cluster.podIPs.n1![0]}:7`;
const connectPort = (): number => config.listeners.connect!.tcp!.port;
const since = (): string[] => daemon.tunnelPool.status().map((s) => `${s.node} ${s.state} ${s.since}`);
const reloadLines = (): Array<Record<string, unknown>> => logs.entries.filter((e) => e.message === 'config reloaded');

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
  const flags = configFromFlags({
    inventory: 'unused.yaml',
    user: cluster.user,
    identity: cluster.identityFile,
    knownHosts: cluster.knownHostsFile,
    serviceCidr: cluster.serviceCIDRs,
    connectListen: `127.0.0.1:${await freePort()}`,
  });
  config = { ...flags, inventory: { kind: 'inline', nodes: cluster.nodes }, healthCheck: { ...flags.healthCheck, caFile: cluster.kubeletCaFile } };
  daemon = await Daemon.start(async () => config, logs.logger);
  await daemon.tunnelPool.ready({ timeoutMs: 10_000 });
});

after(async () => {
  await daemon?.shutdown(0);
  await cluster?.stop();
});

test('ssh, healthCheck and pool limits apply to new work: no tunnel reconnects, a new connection takes them', async () => {
  const before = since();
  config = {
    ...config,
    ssh: { ...config.ssh, connectionsPerNode: 2, keepaliveIntervalMs: 5_000, connectionWindowBytes: 4 * 1024 * 1024 },
    healthCheck: { ...config.healthCheck, intervalMs: 1_000 },
    limits: { ...config.limits, maxStreamsPerTunnel: 1 },
  };
  assert.equal(await daemon.reload(), true);
  assert.deepEqual(since(), before, 'every tunnel kept its connection');
  assert.deepEqual(daemon.tunnelPool.status().map((s) => s.connections), [1, 1], 'connections already up keep their settings');

  const first = await httpConnect({ port: connectPort() }, echo());
  assert.equal(first.status, 200);
  const second = await httpConnect({ port: connectPort() }, echo());
  assert.equal(second.status, 503, 'maxStreamsPerTunnel 1 holds at once');
  assert.match(second.text, /STREAM_LIMIT|stream/i);
  first.socket.destroy();

  daemon.tunnelPool.reconnect('n1');
  await waitFor(() => daemon.tunnelPool.status().find((s) => s.node === 'n1')?.connections === 2, 'n1 to come back with 2 connections');
  assert.equal(daemon.tunnelPool.status().find((s) => s.node === 'n2')?.connections, 1, 'n2 untouched');
  const line = reloadLines().at(-1)!;
  assert.deepEqual(line.changed, ['healthCheck.intervalMs', 'limits.maxStreamsPerTunnel', 'ssh.connectionWindowBytes', 'ssh.connectionsPerNode', 'ssh.keepaliveIntervalMs']);
  assert.deepEqual(line.needsRestart, []);
  config = { ...config, limits: { ...config.limits, maxStreamsPerTunnel: 1000 } };
  assert.equal(await daemon.reload(), true);
});

test('limits.maxConnections applies to the front end at once; open connections stay', async () => {
  const held = await httpConnect({ port: connectPort() }, echo());
  assert.equal(held.status, 200);
  config = { ...config, limits: { ...config.limits, maxConnections: 1 } };
  assert.equal(await daemon.reload(), true);
  const over = await httpConnect({ port: connectPort() }, echo());
  assert.equal(over.status, 503, 'a connection over the new limit is refused');
  assert.equal(await echoRound(held.socket, 64 * 1024), 'intact', 'the connection admitted before keeps working');
  config = { ...config, limits: { ...config.limits, maxConnections: undefined } };
  assert.equal(await daemon.reload(), true);
  const again = await httpConnect({ port: connectPort() }, echo());
  assert.equal(again.status, 200, 'back to the default limit');
  again.socket.destroy();
});

test('a moved listener: the new address serves, a stream on the old one finishes, then the old address refuses', async () => {
  const oldPort = connectPort();
  const open = await httpConnect({ port: oldPort }, echo());
  assert.equal(open.status, 200, open.text);
  const newPort = await freePort();
  config = { ...config, listeners: { ...config.listeners, connect: { tcp: { host: '127.0.0.1', port: newPort } } } };
  assert.equal(await daemon.reload(), true);
  assert.deepEqual(reloadLines().at(-1)!.changed, ['listeners.connect.tcp']);

  const fresh = await httpConnect({ port: newPort }, echo());
  assert.equal(fresh.status, 200, 'the new address serves');
  assert.equal(await echoRound(fresh.socket, 1024), 'intact');
  assert.equal(await refused(oldPort), true, 'the old address takes no new client');
  assert.equal(await echoRound(open.socket, 256 * 1024), 'intact', 'the stream opened on the old address runs to its end');
  await waitFor(() => logs.entries.some((e) => e.message === 'listener closed: open streams finish' && String(e.listener).endsWith(`:${oldPort}`)), 'the old listener to close');
});

test('a listener that cannot bind rejects the whole reload: the running listener and limits stay', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  const running = config;
  try {
    config = { ...config, limits: { maxConnections: 1 }, listeners: { ...config.listeners, connect: { tcp: { host: '127.0.0.1', port: taken } } } };
    assert.equal(await daemon.reload(), false);
    assert.ok(logs.entries.some((e) => e.message === 'reload rejected, keeping the running config' && /EADDRINUSE/.test(String(e.error))));
    config = running;
    const a = await httpConnect({ port: connectPort() }, echo());
    const b = await httpConnect({ port: connectPort() }, echo());
    assert.deepEqual([a.status, b.status], [200, 200], 'the old listener serves, and the rejected maxConnections 1 is not in force');
    a.socket.destroy();
    b.socket.destroy();
  } finally {
    config = running;
    blocker.close();
  }
});

test('a new ssh.identityFile is used by the next connection; tunnels up keep theirs; an unreadable one rejects the reload', async () => {
  const strangerKey = join(dirname(cluster.identityFile), 'stranger_ed25519');
  writeFileSync(strangerKey, generateEd25519('no node trusts this').private, { mode: 0o600 });
  const running = config;
  try {
    config = { ...config, ssh: { ...config.ssh, identityFile: join(dirname(cluster.identityFile), 'missing_key') } };
    assert.equal(await daemon.reload(), false, 'a key that cannot be read rejects the reload');

    const before = since();
    config = { ...running, ssh: { ...running.ssh, identityFile: strangerKey } };
    assert.equal(await daemon.reload(), true);
    assert.deepEqual(since(), before, 'tunnels already up keep the connection the old key made');
    const refused = nextState(daemon.tunnelPool, 'n1', 'TRANSIENT_FAILURE');
    daemon.tunnelPool.reconnect('n1');
    await refused;
    await waitFor(() => daemon.tunnelPool.status().find((s) => s.node === 'n1')?.lastError?.code === 'ERR_AUTH', 'n1 to be refused with the new key');

    config = running;
    assert.equal(await daemon.reload(), true);
    const back = nextState(daemon.tunnelPool, 'n1', 'READY');
    daemon.tunnelPool.reconnect('n1');
    await back;
  } finally {
    config = running;
  }
});

/** RFC 1929 username/password sub-negotiation only: the server's status byte (0 = accepted). */
async function socksLogin(port: number, user: string, password: string): Promise<number> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const replies: Buffer[] = [];
  socket.on('data', (c: Buffer) => replies.push(c));
  socket.write(Buffer.from([5, 1, 2]));
  socket.write(Buffer.concat([Buffer.from([1, user.length]), Buffer.from(user), Buffer.from([password.length]), Buffer.from(password)]));
  while (Buffer.concat(replies).length < 4 && !socket.closed) await new Promise((r) => setTimeout(r, 10));
  socket.destroy();
  return Buffer.concat(replies)[3] ?? -1;
}

test('admin moves to a new address; SOCKS passwords are read again in place, and the line says so without the password', async () => {
  const dir = dirname(cluster.identityFile);
  const passwordFile = join(dir, 'alice.password');
  writeFileSync(passwordFile, 'first-secret\n', { mode: 0o600 });
  const socksPort = await freePort();
  const [adminA, adminB] = [await freePort(), await freePort()];
  const running = config;
  try {
    config = {
      ...config,
      listeners: {
        ...config.listeners,
        socks: { tcp: { host: '127.0.0.1', port: socksPort }, users: [{ username: 'alice', passwordFile }] },
        admin: { host: '127.0.0.1', port: adminA },
      },
    };
    assert.equal(await daemon.reload(), true);
    assert.equal((await fetch(`http://127.0.0.1:${adminA}/healthz`)).status, 200);
    assert.equal(await socksLogin(socksPort, 'alice', 'first-secret'), 0);

    writeFileSync(passwordFile, 'second-secret\n');
    config = { ...config, listeners: { ...config.listeners, admin: { host: '127.0.0.1', port: adminB } } };
    assert.equal(await daemon.reload(), true);
    const line = reloadLines().at(-1)!;
    assert.deepEqual(line.changed, ['listeners.admin.port']);
    assert.deepEqual(line.reread, ['listeners.socks.users (password files)']);
    assert.doesNotMatch(JSON.stringify(line), /secret/);
    assert.equal((await fetch(`http://127.0.0.1:${adminB}/healthz`)).status, 200, 'the new admin address serves');
    assert.equal(await refused(adminA), true, 'the old admin address is closed');
    assert.notEqual(await socksLogin(socksPort, 'alice', 'first-secret'), 0, 'the old password no longer works');
    assert.equal(await socksLogin(socksPort, 'alice', 'second-secret'), 0, 'the new one does, on the same listener');
  } finally {
    config = running;
    await daemon.reload();
  }
});

test('healthCheck.caFile swapped by reload: the next probes judge the kubelets by the new CA, without a reconnect', async () => {
  const wrongCa = join(dirname(cluster.identityFile), 'wrong-kubelet-ca.pem');
  writeFileSync(wrongCa, createTestCa('not the kubelets\' CA').certPem);
  const running = config;
  const health = (): Array<string | undefined> => daemon.tunnelPool.status().map((s) => (s.health?.healthy ? 'healthy' : s.health?.lastProbeErrorCode));
  try {
    config = { ...config, healthCheck: { ...config.healthCheck, intervalMs: 50, failureThreshold: 1 } };
    assert.equal(await daemon.reload(), true);
    const before = since();
    config = { ...config, healthCheck: { ...config.healthCheck, caFile: wrongCa } };
    assert.equal(await daemon.reload(), true);
    await waitFor(() => health().every((h) => h === 'ERR_KUBELET_CERT'), 'every node unhealthy under the wrong CA');
    assert.deepEqual(since(), before, 'no reconnect: what the kubelet answers is judged, the SSH connection kept');
    config = { ...config, healthCheck: { ...config.healthCheck, caFile: cluster.kubeletCaFile } };
    assert.equal(await daemon.reload(), true);
    await waitFor(() => health().every((h) => h === 'healthy'), 'healthy again under the right CA');
    assert.deepEqual(since(), before);
  } finally {
    config = running;
    await daemon.reload();
  }
});
