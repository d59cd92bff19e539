// Where the HTTP CONNECT front end listens: a Unix socket (mode, stale and live sockets, removal), TCP with
// mutual TLS (a client without a valid certificate is refused at the handshake), and loopback-only plain TCP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { HttpConnectFrontend, type ConnectRequestEvent } from '../../src/frontends/http-connect-server.js';
import { silentLogger } from '../../src/log.js';
import { createTestCa } from '../unit/tls-test-pki.js';
import { apiserverRequest, ESTABLISHED, exchange, getOver, sendConnect } from './http-connect-client.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let dir: string;
const logger = silentLogger();

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  dir = mkdtempSync(join(tmpdir(), 'http-connect-listen-'));
});

after(async () => {
  await pool?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A socket file nobody listens on, as a crashed daemon leaves behind. */
async function staleSocket(path: string): Promise<void> {
  const server = net.createServer();
  const hidden = `${path}.listening`;
  await new Promise<void>((resolve) => server.listen(hidden, resolve));
  renameSync(hidden, path); // closing unlinks the old name only, so the file stays, with no listener
  await new Promise((resolve) => server.close(resolve));
}

async function works(connect: () => net.Socket | tls.TLSSocket): Promise<void> {
  const podIP = cluster.podIPs.n1![0]!;
  const { head, extra, socket } = await sendConnect(connect(), apiserverRequest(`${podIP}:8080`));
  assert.equal(head, ESTABLISHED);
  assert.equal(extra.length, 0);
  assert.equal(JSON.parse((await getOver(socket, `http://${podIP}:8080/whoami`)).body).node, 'n1');
}

test('the Unix socket is created with mode 0600 by default (or the mode asked for) and removed on close', async () => {
  const path = join(dir, 'default.sock');
  const fe = new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger });
  await fe.listen();
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(fe.name, `connect-uds ${path}`);
  assert.deepEqual(fe.address(), { path });
  await works(() => net.connect(path));
  await fe.close();
  assert.equal(existsSync(path), false);

  const shared = new HttpConnectFrontend(dialer, { kind: 'unix', path, mode: 0o660 }, { logger });
  await shared.listen();
  assert.equal(statSync(path).mode & 0o777, 0o660);
  await shared.close();
});

test('a stale socket is replaced; a live one or a non-socket file makes listen() fail and stays untouched', async () => {
  const path = join(dir, 'stale.sock');
  await staleSocket(path);
  assert.ok(statSync(path).isSocket());
  const fe = new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger });
  await fe.listen();
  await works(() => net.connect(path));

  const second = new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger });
  await assert.rejects(second.listen(), /listeners\.connect\.socket\.path: .*stale\.sock is in use: another process listens on it/);
  await works(() => net.connect(path)); // the first one still owns and serves it
  await fe.close();

  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'keep me');
  const third = new HttpConnectFrontend(dialer, { kind: 'unix', path: file }, { logger });
  await assert.rejects(third.listen(), /not-a-socket exists and is not a socket; refusing to replace it/);
  assert.equal(readFileSync(file, 'utf8'), 'keep me');
});

test('closing does not remove a socket another process has since put at the path', async () => {
  const path = join(dir, 'replaced.sock');
  const fe = new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger });
  await fe.listen();
  rmSync(path);
  await staleSocket(path);
  const theirs = statSync(path).ino;
  await fe.close();
  assert.equal(statSync(path).ino, theirs);
});

test('mutual TLS: a valid client certificate gets the exact 200; none, or one from another CA, is refused at the handshake', async () => {
  const ca = createTestCa('ssh-egress proxy CA');
  const server = ca.issue({ commonName: 'ssh-egress', ips: ['127.0.0.1'], usage: 'server' });
  const client = ca.issue({ commonName: 'kube-apiserver', usage: 'client' });
  const stranger = createTestCa('some other CA').issue({ commonName: 'kube-apiserver', usage: 'client' });
  const fe = new HttpConnectFrontend(
    dialer,
    { kind: 'tls', host: '127.0.0.1', port: 0, cert: server.certPem, key: server.keyPem, clientCA: ca.certPem },
    { logger },
  );
  const events: ConnectRequestEvent[] = [];
  fe.on('request', (e) => events.push(e));
  await fe.listen();
  try {
    const { port } = fe.address() as { port: number };
    assert.equal(fe.name, `connect-tls 127.0.0.1:${port}`);
    const connect = (creds?: { certPem: string; keyPem: string }) =>
      tls.connect({ host: '127.0.0.1', port, ca: ca.certPem, cert: creds?.certPem, key: creds?.keyPem });
    await works(() => connect(client));

    const mark = cluster.served.length;
    const refusals: string[] = [];
    fe.on('request', (e) => e.reason === 'tls-handshake' && refusals.push(e.reason));
    for (const creds of [undefined, stranger]) {
      // TLS 1.3 finishes the client's side of the handshake before the server checks its certificate:
      // the client learns of the refusal from an alert (or a closed connection), never from HTTP.
      const { text, error } = await exchange(connect(creds), apiserverRequest(`${cluster.podIPs.n1![0]}:8080`));
      assert.equal(text, '', 'not a byte of HTTP for a client without a valid certificate');
      if (error) assert.match(error.message, /alert|ECONNRESET/);
    }
    assert.equal(cluster.served.length, mark, 'nothing was dialled');
    assert.deepEqual(refusals, ['tls-handshake', 'tls-handshake']);
    assert.equal(events.filter((e) => e.outcome === 'established').length, 1);
  } finally {
    await fe.close();
  }
});

// Issue 15: a reload rotates the TLS listener's certificate and client CA in place (same address, no rebind).
test('mutual TLS: setTlsCredentials rotates the server certificate and the client CA for the next handshake', async () => {
  const oldCa = createTestCa('proxy CA 2025');
  const newCa = createTestCa('proxy CA 2026');
  const issue = (ca: typeof oldCa) => ({
    server: ca.issue({ commonName: 'ssh-egress', ips: ['127.0.0.1'], usage: 'server' }),
    client: ca.issue({ commonName: 'kube-apiserver', usage: 'client' }),
  });
  const before = issue(oldCa);
  const after = issue(newCa);
  const fe = new HttpConnectFrontend(
    dialer,
    { kind: 'tls', host: '127.0.0.1', port: 0, cert: before.server.certPem, key: before.server.keyPem, clientCA: oldCa.certPem },
    { logger },
  );
  await fe.listen();
  try {
    const { port } = fe.address() as { port: number };
    const connect = (ca: string, creds: { certPem: string; keyPem: string }) => tls.connect({ host: '127.0.0.1', port, ca, cert: creds.certPem, key: creds.keyPem });
    await works(() => connect(oldCa.certPem, before.client));
    fe.setTlsCredentials({ cert: after.server.certPem, key: after.server.keyPem, clientCA: newCa.certPem });
    await works(() => connect(newCa.certPem, after.client));
    const { text, error } = await exchange(connect(oldCa.certPem, before.client), apiserverRequest(`${cluster.podIPs.n1![0]}:8080`));
    assert.equal(text, '', 'the rotated-out certificate and CA no longer work');
    assert.ok(error, 'the handshake fails');
  } finally {
    await fe.close();
  }
});

test('plain TCP listens on loopback only', async () => {
  for (const host of ['0.0.0.0', '198.18.0.1', '::']) {
    assert.throws(() => new HttpConnectFrontend(dialer, { kind: 'tcp', host, port: 0 }, { logger }), /loopback only/);
  }
  const fe = new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { logger });
  await fe.listen();
  try {
    const { port } = fe.address() as { port: number };
    await works(() => net.connect(port, '127.0.0.1'));
  } finally {
    await fe.close();
  }
});

test('bad option values are refused up front', () => {
  const path = join(dir, 'x.sock');
  assert.throws(() => new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger, headerTimeoutMs: 0 }), /^ConfigError: headerTimeoutMs: 0 is not a whole number of milliseconds from 1 to 2147483647$/);
  assert.throws(() => new HttpConnectFrontend(dialer, { kind: 'unix', path }, { logger, maxHeaderBytes: 1.5 }), /maxHeaderBytes/);
});
