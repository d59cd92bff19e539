// The SOCKS5 front end against the simulated cluster, driven by a hand-written client so every byte of
// the protocol (and every way to get it wrong) is under the test's control.
import { test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import net from 'node:net';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { ConfigError } from '../../src/errors.js';
import { Socks5Frontend } from '../../src/frontends/socks5-server.js';
import { captureLogger } from '../unit/capture-logger.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let open: Socks5Frontend;
let guarded: Socks5Frontend;
const guardedLog = captureLogger();

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  open = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, {});
  guarded = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, {
    logger: guardedLog.logger,
    users: new Map([['alice', 'wonderland']]),
  });
  await Promise.all([open.listen(), guarded.listen()]);
});

after(async () => {
  for (const f of [open, guarded]) {
    await f?.stopAccepting();
    f?.destroyAll();
  }
  await pool?.close();
  await cluster?.stop();
});

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const portBytes = (p: number): Buffer => b(p >> 8, p & 0xff);
const GREETING = b(5, 1, 0);
const ipv4 = (ip: string, port: number): Buffer => Buffer.concat([b(5, 1, 0, 1, ...ip.split('.').map(Number)), portBytes(port)]);
const domain = (name: string, port: number): Buffer => Buffer.concat([b(5, 1, 0, 3, name.length), Buffer.from(name), portBytes(port)]);
const ipv6 = (groups: number[], port: number): Buffer => {
  const addr = Buffer.alloc(16);
  groups.forEach((g, i) => addr.writeUInt16BE(g, i * 2));
  return Buffer.concat([b(5, 1, 0, 4), addr, portBytes(port)]);
};
const credentials = (user: string, password: string): Buffer =>
  Buffer.concat([b(1, user.length), Buffer.from(user), b(password.length), Buffer.from(password)]);

/** A client connection that reads exact byte counts and can tell when the server hung up. */
class Client {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  readonly socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.wake?.();
    });
    const end = (): void => {
      this.ended = true;
      this.wake?.();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static async connect(frontend: Socks5Frontend): Promise<Client> {
    const socket = net.connect({ host: '127.0.0.1', port: frontend.port! });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new Client(socket);
  }

  write(bytes: Buffer): this {
    this.socket.write(bytes);
    return this;
  }

  async read(n: number, timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered.length < n) {
      if (this.ended) throw new Error(`connection closed after ${this.buffered.length} of ${n} bytes: ${this.buffered.toString('hex')}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} bytes`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** Everything until the server closes. */
  async readAll(timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('timed out waiting for the server to close');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const out = this.buffered;
    this.buffered = Buffer.alloc(0);
    return out;
  }

  /** The reply code of a SOCKS5 request reply (10 bytes, BND 0.0.0.0:0). */
  async reply(): Promise<number> {
    const r = await this.read(10);
    assert.deepEqual([r[0], r[2], ...r.subarray(3)], [5, 0, 1, 0, 0, 0, 0, 0, 0], `reply ${r.toString('hex')}`);
    return r[1]!;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Greets (no auth), sends `request`, and returns the client with the reply code read. */
async function request(frontend: Socks5Frontend, req: Buffer): Promise<{ client: Client; code: number }> {
  const client = (await Client.connect(frontend)).write(GREETING);
  assert.deepEqual(await client.read(2), b(5, 0));
  client.write(req);
  return { client, code: await client.reply() };
}

/** GET /whoami over an open SOCKS stream. */
async function whoami(client: Client): Promise<{ node: string; addr: string; port: number }> {
  client.write(Buffer.from('GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
  const text = (await client.readAll()).toString();
  assert.match(text, /^HTTP\/1\.1 200 /);
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
}

test('an IPv4 pod address goes through the node that owns it', async () => {
  for (const node of cluster.nodes) {
    const podIP = cluster.podIPs[node.name]![0]!;
    const { client, code } = await request(open, ipv4(podIP, 8080));
    assert.equal(code, 0);
    assert.deepEqual(await whoami(client), { node: node.name, addr: podIP, port: 8080 });
  }
});

test('greeting, request and payload in one write: the payload reaches the pod', async () => {
  const podIP = cluster.podIPs.n2![1]!;
  const client = await Client.connect(open);
  client.write(Buffer.concat([GREETING, ipv4(podIP, 8080), Buffer.from('GET /whoami HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')]));
  assert.deepEqual(await client.read(2), b(5, 0));
  assert.equal(await client.reply(), 0);
  const text = (await client.readAll()).toString();
  assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).node, 'n2');
});

test('a request split into single bytes across TCP segments still connects', async () => {
  const client = await Client.connect(open);
  client.socket.setNoDelay(true);
  for (const byte of Buffer.concat([GREETING, domain('n3', 9100)])) {
    client.write(b(byte));
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  assert.deepEqual(await client.read(2), b(5, 0));
  assert.equal(await client.reply(), 0);
  assert.equal((await whoami(client)).node, 'n3');
});

test('a node name and a node alias resolve to that node, not through DNS', async () => {
  const lookup = mock.method(dns, 'lookup');
  const promisesLookup = mock.method(dns.promises, 'lookup');
  try {
    for (const name of ['n1', 'n1.sim.internal', 'N1.SIM.INTERNAL']) {
      const mark = cluster.served.length;
      const { client, code } = await request(open, domain(name, 9100));
      assert.equal(code, 0, name);
      assert.equal((await whoami(client)).node, 'n1', name);
      assert.deepEqual(cluster.served.slice(mark).map((s) => `${s.node} ${s.destHost}:${s.destPort}`), [`n1 ${cluster.nodes[0]!.address}:9100`]);
    }
    const { client, code } = await request(open, domain('example.com', 443));
    assert.equal(code, 0x04, 'host unreachable');
    assert.equal((await client.readAll()).length, 0, 'then closed');
    assert.equal(lookup.mock.callCount() + promisesLookup.mock.callCount(), 0, 'no DNS lookup');
  } finally {
    lookup.mock.restore();
    promisesLookup.mock.restore();
  }
});

test('an IPv6 literal outside the cluster is refused before any tunnel is used', async () => {
  const mark = cluster.served.length;
  const { client, code } = await request(open, ipv6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], 443));
  assert.equal(code, 0x04);
  assert.equal((await client.readAll()).length, 0);
  assert.equal(cluster.served.length, mark);
});

test('a port nothing listens on: connection refused (0x05)', async () => {
  const { client, code } = await request(open, domain('n2', 9999));
  assert.equal(code, 0x05);
  await client.readAll();
});

test('a node port outside policy.nodePorts: not allowed (0x02)', async () => {
  const strict = new Socks5Frontend(new Dialer(pool, { policy: { nodePorts: [9100] } }), { kind: 'tcp', host: '127.0.0.1', port: 0 });
  await strict.listen();
  try {
    const denied = await request(strict, domain('n1', 7));
    assert.equal(denied.code, 0x02);
    await denied.client.readAll();
    const allowed = await request(strict, domain('n1', 9100));
    assert.equal(allowed.code, 0);
    assert.equal((await whoami(allowed.client)).node, 'n1');
  } finally {
    await strict.stopAccepting();
  }
});

test('BIND and UDP ASSOCIATE: command not supported (0x07); unknown address type: 0x08', async () => {
  for (const cmd of [2, 3]) {
    const { client, code } = await request(open, b(5, cmd, 0, 1, 198, 19, 1, 7, 0, 80));
    assert.equal(code, 0x07);
    await client.readAll();
  }
  const { client, code } = await request(open, b(5, 1, 0, 0x08, 0, 0));
  assert.equal(code, 0x08);
  await client.readAll();
});

test('with users configured: no-auth refused, wrong password refused, right password connects', async () => {
  const noAuth = (await Client.connect(guarded)).write(GREETING);
  assert.deepEqual(await noAuth.read(2), b(5, 0xff));
  await noAuth.readAll();

  const wrong = (await Client.connect(guarded)).write(b(5, 2, 0, 2));
  assert.deepEqual(await wrong.read(2), b(5, 2));
  wrong.write(credentials('alice', 'not-the-password'));
  assert.deepEqual(await wrong.read(2), b(1, 1));
  assert.equal((await wrong.readAll()).length, 0);

  const right = (await Client.connect(guarded)).write(b(5, 1, 2));
  assert.deepEqual(await right.read(2), b(5, 2));
  right.write(Buffer.concat([credentials('alice', 'wonderland'), ipv4(cluster.clusterIP, 8080)]));
  assert.deepEqual(await right.read(2), b(1, 0));
  assert.equal(await right.reply(), 0);
  assert.ok(['n1', 'n2', 'n3'].includes((await whoami(right)).node));

  const logged = JSON.stringify(guardedLog.entries);
  assert.match(logged, /username\/password refused/);
  assert.doesNotMatch(logged, /not-the-password|wonderland/, 'passwords never reach the log');
});

test('garbage, SOCKS4 and HTTP clients are closed; the server keeps serving', async () => {
  for (const junk of [Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), b(0xde, 0xad, 0xbe, 0xef), Buffer.alloc(64 * 1024, 0x41)]) {
    const client = (await Client.connect(open)).write(junk);
    assert.equal((await client.readAll()).length, 0);
  }
  const socks4 = (await Client.connect(open)).write(b(4, 1, 0, 80, 198, 19, 1, 7, 0));
  assert.deepEqual(await socks4.readAll(), b(0, 0x5b, 0, 0, 0, 0, 0, 0));
  const reset = (await Client.connect(open)).write(b(5, 1));
  reset.socket.resetAndDestroy();
  const { client, code } = await request(open, ipv4(cluster.podIPs.n1![0]!, 8080));
  assert.equal(code, 0);
  assert.equal((await whoami(client)).node, 'n1');
});

test('a client too slow to finish its handshake is dropped', async () => {
  const slow = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { handshakeTimeoutMs: 200 });
  await slow.listen();
  try {
    const client = (await Client.connect(slow)).write(b(5, 1));
    const started = Date.now();
    await client.readAll(3_000);
    assert.ok(Date.now() - started < 2_000);
    assert.equal(slow.openConnections, 0);
  } finally {
    await slow.stopAccepting();
  }
});

test('openConnections counts clients; stopAccepting refuses new ones; destroyAll ends open streams', async () => {
  const frontend = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  await frontend.listen();
  const port = frontend.port!;
  const { client } = await request(frontend, ipv4(cluster.podIPs.n3![0]!, 7));
  client.write(Buffer.from('ping'));
  assert.equal((await client.read(4)).toString(), 'ping');
  assert.equal(frontend.openConnections, 1);
  await frontend.stopAccepting();
  await assert.rejects(
    new Promise((resolve, reject) => net.connect({ host: '127.0.0.1', port }).once('connect', resolve).once('error', reject)),
    /ECONNREFUSED/,
  );
  client.write(Buffer.from('still'));
  assert.equal((await client.read(5)).toString(), 'still', 'open streams go on');
  frontend.destroyAll();
  await client.readAll();
  assert.equal(frontend.openConnections, 0);
});

test('a client that hangs up while its dial is pending leaves nothing open', async () => {
  const frontend = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  await frontend.listen();
  try {
    const client = (await Client.connect(frontend)).write(Buffer.concat([GREETING, ipv4(cluster.podIPs.n1![0]!, 8080)]));
    client.destroy();
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(frontend.openConnections, 0);
  } finally {
    await frontend.stopAccepting();
  }
});

test('a Unix socket listener gets its mode and serves', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'socks5-'));
  const socketPath = path.join(dir, 'socks.sock');
  const frontend = new Socks5Frontend(dialer, { kind: 'unix', path: socketPath, mode: 0o600 });
  try {
    await frontend.listen();
    assert.equal(frontend.name, `socks5-uds ${socketPath}`);
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
    const socket = net.connect(socketPath);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.write(Buffer.concat([GREETING, ipv4(cluster.podIPs.n2![0]!, 7), Buffer.from('hello')]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(Buffer.concat(chunks), Buffer.concat([b(5, 0, 5, 0, 0, 1, 0, 0, 0, 0, 0, 0), Buffer.from('hello')]));
    socket.destroy();
  } finally {
    await frontend.stopAccepting();
    frontend.destroyAll();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a TCP listener off loopback needs users (no open proxy)', () => {
  for (const host of ['0.0.0.0', '::', '198.18.0.1']) {
    assert.throws(
      () => new Socks5Frontend(dialer, { kind: 'tcp', host, port: 1080 }),
      (err: unknown) => err instanceof ConfigError && err.path === 'listeners.socks.tcp.host',
    );
  }
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) new Socks5Frontend(dialer, { kind: 'tcp', host, port: 1080 });
  new Socks5Frontend(dialer, { kind: 'tcp', host: '0.0.0.0', port: 1080 }, { users: new Map([['u', 'p']]) });
});
