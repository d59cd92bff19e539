// Every resource bound pushed through the proxy front ends against the simulated cluster: the client past
// the bound gets a 503 (SOCKS: general failure) naming the limit, the ones within it are untouched, and
// once the pressure is gone the same front end serves again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { TunnelPoolOptions } from '../../src/tunnel/pool-options.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { Socks5Frontend } from '../../src/frontends/socks5-server.js';
import type { ConnectionLimits } from '../../src/frontends/limits-connections.js';
import { silentLogger } from '../../src/log.js';
import { echoRound, httpConnect, socksConnect, waitFor, type Dialled } from './limits-helpers.js';

let cluster: SimulatedCluster;
const closers: Array<() => Promise<void>> = [];

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await cluster?.stop();
});

async function stack(poolLimits: Partial<TunnelPoolOptions> = {}, frontLimits: ConnectionLimits = {}, ready = true) {
  const pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile, healthCheck: { kind: 'ssh' }, ...poolLimits });
  pool.setNodes(cluster.nodes);
  if (ready) await pool.ready({ timeoutMs: 10_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  const options = { logger: silentLogger(), dialTimeoutMs: 3_000, ...frontLimits };
  const http = new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, options);
  const socks = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, options);
  await Promise.all([http.listen(), socks.listen()]);
  closers.push(async () => {
    await http.close();
    await socks.stopAccepting();
    socks.destroyAll();
    await pool.close();
  });
  const httpAt = { port: (http.address() as { port: number }).port };
  const socksAt = { port: socks.port! };
  return { pool, http, socks, httpAt, socksAt };
}

const echo = (node: 'n1' | 'n2', i = 0): string => `${cluster.podIPs[node]![i]}:7`;

function assertRefused(d: Dialled, code: string): void {
  assert.equal(d.status, 503, d.text);
  assert.match(d.text, new RegExp(`\\r\\n\\r\\n${code}: `), d.text);
}

test('maxConnectionsPerClient and maxConnections: 503 / SOCKS 0x01 past them, others served, places come back', async () => {
  const { http, socks, httpAt, socksAt } = await stack({}, { maxConnections: 3, maxConnectionsPerClient: 2 });
  const a = await httpConnect(httpAt, echo('n1'), '127.0.0.1');
  const b = await httpConnect(httpAt, echo('n1'), '127.0.0.1');
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  const sameClient = await httpConnect(httpAt, echo('n1'), '127.0.0.1');
  assertRefused(sameClient, 'ERR_CONNECTION_LIMIT');
  assert.match(sameClient.text, /2 connections already open from 127\.0\.0\.1 \(maxConnectionsPerClient\)/);
  const other = await httpConnect(httpAt, echo('n2'), '127.0.0.2');
  assert.equal(other.status, 200, 'another client address still gets a place');
  const total = await httpConnect(httpAt, echo('n2'), '127.0.0.3');
  assertRefused(total, 'ERR_CONNECTION_LIMIT');
  assert.match(total.text, /3 connections already open \(maxConnections\)/);
  // The streams within the limits are untouched by the refusals around them.
  assert.equal(await echoRound(a.socket, 100_000), 'intact');
  await waitFor(() => http.openConnections === 2, 'the closed client to be released');
  const again = await httpConnect(httpAt, echo('n1'), '127.0.0.1');
  assert.equal(again.status, 200, 'a freed place is used again');
  for (const d of [b, other, again]) assert.equal(await echoRound(d.socket, 10_000), 'intact');

  const s1 = await socksConnect(socksAt, cluster.podIPs.n1![0]!, 7, '127.0.0.1');
  const s2 = await socksConnect(socksAt, cluster.podIPs.n1![0]!, 7, '127.0.0.1');
  const s3 = await socksConnect(socksAt, cluster.podIPs.n1![0]!, 7, '127.0.0.1');
  assert.deepEqual([s1.status, s2.status, s3.status], [0, 0, 0x01]);
  s3.socket.destroy();
  for (const d of [s1, s2]) assert.equal(await echoRound(d.socket, 10_000), 'intact');
  await waitFor(() => socks.openConnections === 0, 'SOCKS clients to close');
  const s4 = await socksConnect(socksAt, cluster.podIPs.n1![0]!, 7, '127.0.0.1');
  assert.equal(s4.status, 0);
  assert.equal(await echoRound(s4.socket, 10_000), 'intact');
});

test('maxStreamsPerTunnel: the stream past the limit gets 503 ERR_STREAM_LIMIT; other tunnels and later dials work', async () => {
  const { httpAt, socksAt } = await stack({ maxStreamsPerTunnel: 2 });
  const held = [await httpConnect(httpAt, echo('n1', 0)), await httpConnect(httpAt, echo('n1', 1))];
  assert.deepEqual(held.map((d) => d.status), [200, 200]);
  const refused = await httpConnect(httpAt, echo('n1'));
  assertRefused(refused, 'ERR_STREAM_LIMIT');
  assert.match(refused.text, /node n1 already carries 2 streams/);
  const socksRefused = await socksConnect(socksAt, cluster.podIPs.n1![0]!, 7);
  assert.equal(socksRefused.status, 0x01, 'SOCKS: general failure');
  socksRefused.socket.destroy();
  const n2 = await httpConnect(httpAt, echo('n2'));
  assert.equal(n2.status, 200, 'n2 has its own limit');
  assert.equal(await echoRound(n2.socket, 10_000), 'intact');
  assert.equal(await echoRound(held[0]!.socket, 10_000), 'intact');
  const later = await httpConnect(httpAt, echo('n1'));
  assert.equal(later.status, 200, 'a closed stream frees its place');
  for (const d of [held[1]!, later]) assert.equal(await echoRound(d.socket, 10_000), 'intact');
});

test('maxPendingDials: with a node hanging its handshake, dials past the pool-wide bound get 503 ERR_DIAL_QUEUE_FULL at once', async () => {
  const hanging = cluster.node('n2');
  hanging.setHangHandshake(true);
  try {
    const { pool, httpAt } = await stack({ maxPendingDials: 2, handshakeTimeoutMs: 60_000 }, {}, false);
    await pool.ready({ min: 1, timeoutMs: 10_000 });
    const waiting = [httpConnect(httpAt, echo('n2', 0)), httpConnect(httpAt, echo('n2', 1))];
    await waitFor(() => pool.get('n2')?.pendingDials === 2, 'both dials to queue behind n2\'s handshake');
    const started = performance.now();
    const refused = await httpConnect(httpAt, echo('n1'));
    assertRefused(refused, 'ERR_DIAL_QUEUE_FULL');
    assert.match(refused.text, /2 dials already pending across all tunnels/);
    assert.ok(performance.now() - started < 1_000, 'refused at once, not after a timeout');
    // The queued dials end with their own clean timeout (504), which frees the budget.
    for (const d of await Promise.all(waiting)) assert.equal(d.status, 504, d.text);
    const served = await httpConnect(httpAt, echo('n1'));
    assert.equal(served.status, 200);
    assert.equal(await echoRound(served.socket, 10_000), 'intact');
  } finally {
    hanging.setHangHandshake(false);
  }
});

test('per-stream buffering is bounded: a client that never reads stalls its own writes, nothing grows without end', async () => {
  const { httpAt } = await stack();
  const d = await httpConnect(httpAt, echo('n1'));
  assert.equal(d.status, 200);
  const chunk = Buffer.alloc(64 * 1024, 7);
  let accepted = 0;
  let writing = true;
  // Write as fast as the socket takes it (the echo sends everything back, and we never read it).
  const pump = (): void => {
    while (writing && accepted < 512 * 1024 * 1024) {
      accepted += chunk.length;
      if (!d.socket.write(chunk)) {
        d.socket.once('drain', pump);
        return;
      }
    }
  };
  pump();
  await new Promise((r) => setTimeout(r, 1_500));
  const plateau = accepted;
  await new Promise((r) => setTimeout(r, 1_000));
  writing = false;
  assert.equal(accepted, plateau, `writes stalled (${accepted} bytes accepted)`);
  // Kernel buffers of four loopback sockets (~30 MiB here), ssh2 channel windows, stream buffers: bounded.
  assert.ok(accepted < 128 * 1024 * 1024, `accepted ${accepted} bytes`);
  d.socket.destroy();
});
