// The HTTP CONNECT front end through the simulated cluster, spoken to byte for byte as kube-apiserver does:
// the exact 200 and nothing after it, early data, and every refusal status.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { HttpConnectFrontend, type ConnectRequestEvent, type HttpConnectOptions } from '../../src/frontends/http-connect-server.js';
import { silentLogger } from '../../src/log.js';
import { captureLogger } from '../unit/capture-logger.js';
import { apiserverRequest, ESTABLISHED, exchange, getOver, sendConnect, statusOf } from './http-connect-client.js';
import { nextState } from '../support/next-state.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let dir: string;
let frontend: HttpConnectFrontend;
let socketPath: string;
const events: ConnectRequestEvent[] = [];
const logs = captureLogger();

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  dir = mkdtempSync(join(tmpdir(), 'http-connect-'));
  socketPath = join(dir, 'egress.sock');
  frontend = new HttpConnectFrontend(dialer, { kind: 'unix', path: socketPath }, { logger: logs.logger });
  frontend.on('request', (e) => events.push(e));
  await frontend.listen();
});

// Every test must leave no client behind: answered, refused or spliced, each connection ends closed.
afterEach(async () => {
  await waitFor(() => frontend.openConnections === 0, `no client left open (${frontend.openConnections})`);
});

after(async () => {
  await frontend?.close();
  await pool?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts an extra front end for one test; the caller closes it. */
async function startFrontend(d: Dialer, options: Partial<HttpConnectOptions> = {}): Promise<{ fe: HttpConnectFrontend; path: string }> {
  const path = join(dir, `fe-${Math.random().toString(36).slice(2, 8)}.sock`);
  const fe = new HttpConnectFrontend(d, { kind: 'unix', path }, { logger: silentLogger(), ...options });
  await fe.listen();
  return { fe, path };
}

/** Sends `request` on a fresh connection and returns the whole answer; the server must close after it. */
async function refusal(request: string | Buffer, path = socketPath): Promise<string> {
  const { text } = await exchange(net.connect(path), request);
  assert.match(text, /\r\nConnection: close\r\n/);
  assert.match(text, /\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
  const [, body = ''] = text.split('\r\n\r\n');
  assert.equal(Number(/Content-Length: (\d+)/.exec(text)?.[1]), Buffer.byteLength(body));
  assert.match(body, /^[^\n]+\n$/, 'a one-line reason');
  return text;
}


test("kube-apiserver's bytes get exactly the 200 line and nothing more, then HTTP reaches the pod", async () => {
  const podIP = cluster.podIPs.n2![0]!;
  const mark = events.length;
  const { head, extra, socket } = await sendConnect(net.connect(socketPath), apiserverRequest(`${podIP}:8080`));
  assert.equal(head, ESTABLISHED);
  assert.equal(extra.length, 0, 'no byte after the head before the client speaks');
  const res = await getOver(socket, `http://${podIP}:8080/whoami`);
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { node: 'n2', addr: podIP, port: 8080 });
  assert.equal(events[mark]?.outcome, 'established');
  assert.equal(events[mark]?.status, 200);
});

test('the Host header is ignored: the request line names the target', async () => {
  const podIP = cluster.podIPs.n3![0]!;
  const { head, socket } = await sendConnect(net.connect(socketPath), `CONNECT ${podIP}:8080 HTTP/1.1\r\nHost: ${cluster.podIPs.n1![0]}:8080\r\n\r\n`);
  assert.equal(head, ESTABLISHED);
  assert.equal(JSON.parse((await getOver(socket, `http://${podIP}:8080/whoami`)).body).node, 'n3');
});

test("a kubelet through the proxy answers over TLS verified against the cluster CA", async () => {
  const n1 = cluster.nodes[0]!;
  const { head, socket } = await sendConnect(net.connect(socketPath), apiserverRequest(`${n1.address}:10250`));
  assert.equal(head, ESTABLISHED);
  const res = await getOver(socket, `https://${n1.address}:10250/healthz`, readFileSync(cluster.kubeletCaFile));
  assert.deepEqual(res, { status: 200, body: 'ok' });
});

test('early data sent with the request head is forwarded first, in order, and half-close passes through', async () => {
  const podIP = cluster.podIPs.n1![0]!;
  const socket = net.connect(socketPath);
  const answer = exchange(socket);
  socket.write(`${apiserverRequest(`${podIP}:7`)}early bytes|`);
  await new Promise((r) => setTimeout(r, 50));
  socket.end('later bytes');
  // The echo service ends when we end; the proxy passes that back and closes.
  assert.equal((await answer).text, `${ESTABLISHED}early bytes|later bytes`);
});

test('a whole HTTP request pipelined behind the CONNECT head is answered through the tunnel', async () => {
  const podIP = cluster.podIPs.n3![1]!;
  const request = `${apiserverRequest(`${podIP}:8080`)}GET /whoami HTTP/1.1\r\nHost: ${podIP}\r\nConnection: close\r\n\r\n`;
  const { text } = await exchange(net.connect(socketPath), request);
  assert.ok(text.startsWith(`${ESTABLISHED}HTTP/1.1 200 OK\r\n`), text);
  assert.deepEqual(JSON.parse(text.slice(text.lastIndexOf('\r\n\r\n') + 4)), { node: 'n3', addr: podIP, port: 8080 });
});

test('other methods get 405 with Allow: CONNECT', async () => {
  const mark = events.length;
  const text = await refusal('GET http://198.19.1.7:8080/ HTTP/1.1\r\nHost: 198.19.1.7\r\n\r\n');
  assert.equal(statusOf(text), 405);
  assert.match(text, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  assert.match(text, /\r\nAllow: CONNECT\r\n/);
  assert.deepEqual({ ...events[mark], durationMs: 0 }, { outcome: 'rejected', status: 405, reason: 'method', durationMs: 0 });
});

test('malformed request lines, binary garbage and bad targets get 400', async () => {
  assert.equal(statusOf(await refusal('HELLO\r\n\r\n')), 400);
  assert.equal(statusOf(await refusal(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00]))), 400);
  assert.equal(statusOf(await refusal('CONNECT 198.19.1.7 HTTP/1.1\r\n\r\n')), 400);
  const invalid = await refusal('CONNECT bad_name:80 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  assert.equal(statusOf(invalid), 400);
  assert.match(invalid, /ERR_INVALID_TARGET/);
});

test('a head over maxHeaderBytes gets 431', async () => {
  const text = await refusal(`CONNECT 198.19.1.7:8080 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'a'.repeat(9000)}\r\n\r\n`);
  assert.match(text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
});

test('a client that never finishes its head gets 408 at the header timeout (slowloris)', async () => {
  const { fe, path } = await startFrontend(dialer, { headerTimeoutMs: 200 });
  try {
    const socket = net.connect(path);
    const started = Date.now();
    const answer = exchange(socket, 'CONNECT 198.19.1.7:8080 HTTP/1.1\r\n');
    const drip = setInterval(() => socket.writable && socket.write('X'), 50);
    const { text } = await answer;
    clearInterval(drip);
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(Date.now() - started >= 190, 'not before the timeout');
  } finally {
    await fe.close();
  }
});

test('a refused destination port and an address outside the cluster get 502', async () => {
  const refused = await refusal(apiserverRequest(`${cluster.podIPs.n1![0]}:9999`));
  assert.match(refused, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
  assert.match(refused, /ERR_CHANNEL_OPEN: node n1 could not open a channel to .*connect failed/);
  const noRoute = await refusal(apiserverRequest('198.18.255.1:80'));
  assert.equal(statusOf(noRoute), 502);
  assert.match(noRoute, /ERR_NO_ROUTE/);
});

test('a port the policy forbids gets 403, and nothing reaches a node', async () => {
  const strict = new Dialer(pool, { policy: { nodePorts: ['7'] } });
  const { fe, path } = await startFrontend(strict);
  try {
    const mark = cluster.served.length;
    const text = await refusal(apiserverRequest(`${cluster.nodes[0]!.address}:9100`), path);
    assert.match(text, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(text, /ERR_POLICY_DENIED: policy denies/);
    assert.equal(cluster.served.length, mark);
  } finally {
    await fe.close();
  }
});

test('dial failures are logged at info with target and code; request headers never are', async () => {
  const mark = logs.entries.length;
  await refusal(`CONNECT 198.18.255.1:443 HTTP/1.1\r\nHost: 127.0.0.1\r\nProxy-Authorization: Bearer s3cr3t-token\r\n\r\n`);
  const entry = logs.entries.slice(mark).find((e) => e.message === 'CONNECT dial failed');
  assert.equal(entry?.level, 'info');
  assert.equal(entry?.target, '198.18.255.1:443');
  assert.equal(entry?.code, 'ERR_NO_ROUTE');
  assert.equal(entry?.status, 502);
  assert.ok(!JSON.stringify(logs.entries).includes('s3cr3t-token'));
});

test('the front end keeps serving after garbage, and every refused client is closed', async () => {
  const mark = events.length;
  const probe = async (end: boolean): Promise<void> => {
    const s = net.connect(socketPath);
    await new Promise((r) => s.once('connect', r));
    const closed = new Promise((r) => s.once('close', r));
    if (end) s.end();
    else s.destroy();
    s.resume();
    await closed;
  };
  await Promise.all([
    refusal(Buffer.from('\x00\x01\x02garbage\r\n\r\n', 'latin1')),
    refusal('CONNECT x:1 HTTP/1.1\r\nbroken header\r\n\r\n'),
    (async () => {
      const s = net.connect(socketPath);
      const answer = exchange(s);
      s.end('CONNECT 198.19.1.7:8');
      assert.match((await answer).text, /^HTTP\/1\.1 400 Bad Request\r\n[^]*closed before the request header was complete/);
    })(),
    probe(true),
    probe(false),
  ]);
  const podIP = cluster.podIPs.n1![1]!;
  const { head, socket } = await sendConnect(net.connect(socketPath), apiserverRequest(`${podIP}:8080`));
  assert.equal(head, ESTABLISHED);
  assert.equal(JSON.parse((await getOver(socket, `http://${podIP}:8080/whoami`)).body).addr, podIP);
  await waitFor(() => frontend.openConnections === 0, `no client left open (${frontend.openConnections})`);
  const outcomes = events.slice(mark).map((e) => `${e.outcome} ${e.status ?? '-'} ${e.reason}`).sort();
  assert.ok(outcomes.includes('rejected 400 malformed'), outcomes.join(', '));
  assert.ok(outcomes.includes('abandoned - no-request'), outcomes.join(', '));
  assert.ok(outcomes.includes('established 200 ok'), outcomes.join(', '));
});

test('destroyAll() ends open streams; stopAccepting() refuses new clients and removes the socket', async () => {
  const { fe, path } = await startFrontend(dialer);
  const { head, socket } = await sendConnect(net.connect(path), apiserverRequest(`${cluster.podIPs.n2![0]}:7`));
  assert.equal(head, ESTABLISHED);
  assert.equal(fe.openConnections, 1);
  const closed = new Promise((r) => socket.once('close', r));
  socket.resume();
  await fe.stopAccepting();
  assert.equal(fe.openConnections, 1, 'open streams go on');
  await assert.rejects(new Promise((resolve, reject) => net.connect(path).once('connect', resolve).once('error', reject)), /ENOENT/);
  fe.destroyAll();
  await closed;
  await waitFor(() => fe.openConnections === 0, 'no client left');
});

test('503 when the tunnel is down, 504 when the dial times out', async () => {
  const small = await startSimulatedCluster({ nodes: 1 });
  const opts = { user: small.user, identityFile: small.identityFile, knownHostsFile: small.knownHostsFile, healthCheck: { kind: 'ssh' as const } };
  const downPool = new TunnelPool({ ...opts, backoff: { initialDelayMs: 60_000 } });
  let hungPool: TunnelPool | undefined;
  const fes: HttpConnectFrontend[] = [];
  try {
    downPool.setNodes(small.nodes);
    await downPool.ready({ timeoutMs: 10_000 });
    const failed = nextState(downPool, 'n1', 'TRANSIENT_FAILURE');
    await small.node('n1').stop();
    await failed;
    const down = await startFrontend(new Dialer(downPool));
    fes.push(down.fe);
    const unavailable = await refusal(apiserverRequest(`${small.nodes[0]!.address}:9100`), down.path);
    assert.match(unavailable, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(unavailable, /ERR_TUNNEL_UNAVAILABLE/);

    small.node('n1').setHangHandshake(true);
    await small.node('n1').start();
    hungPool = new TunnelPool({ ...opts, handshakeTimeoutMs: 30_000 });
    hungPool.setNodes(small.nodes);
    const hung = await startFrontend(new Dialer(hungPool), { dialTimeoutMs: 300 });
    fes.push(hung.fe);
    const started = Date.now();
    const timedOut = await refusal(apiserverRequest(`${small.nodes[0]!.address}:9100`), hung.path);
    assert.match(timedOut, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    assert.match(timedOut, /ERR_DIAL_TIMEOUT: .*timed out after 300 ms/);
    assert.ok(Date.now() - started < 5000);
  } finally {
    for (const fe of fes) await fe.close();
    await downPool.close();
    await hungPool?.close();
    await small.stop();
  }
});

async function waitFor(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
