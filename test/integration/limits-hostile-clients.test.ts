// One front end, many bad clients at once (garbage, silence, slowloris, oversized heads, resets mid-stream,
// readers that never read), and one good client beside them: its streams stay intact and quick, the bad
// ones are all closed within their timeouts, and the front end ends with nothing left open.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { Socks5Frontend } from '../../src/frontends/socks5-server.js';
import { silentLogger } from '../../src/log.js';
import { apiserverRequest } from './http-connect-client.js';
import { echoRound, httpConnect, socksConnect, waitFor } from './limits-helpers.js';

const TIMEOUT_MS = 800;
let cluster: SimulatedCluster;
let pool: TunnelPool;
let http: HttpConnectFrontend;
let socks: Socks5Frontend;
let httpPort: number;
let socksPort: number;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile, healthCheck: { kind: 'ssh' } });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  http = new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { logger: silentLogger(), headerTimeoutMs: TIMEOUT_MS });
  socks = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { handshakeTimeoutMs: TIMEOUT_MS });
  await Promise.all([http.listen(), socks.listen()]);
  httpPort = (http.address() as { port: number }).port;
  socksPort = socks.port!;
});

after(async () => {
  await http?.close();
  await socks?.stopAccepting();
  socks?.destroyAll();
  await pool?.close();
  await cluster?.stop();
});

/** A bad client: connects, misbehaves, and resolves once the server has closed it (or the test gives up). */
function badClient(port: number, behave: (s: net.Socket) => void): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.on('data', () => undefined); // read answers, so the server's close is not held up by us
    socket.once('close', () => resolve());
    socket.once('connect', () => behave(socket));
  });
}

const drip = (s: net.Socket, bytes: Buffer, everyMs: number): void => {
  let i = 0;
  const timer = setInterval(() => {
    if (s.destroyed || i >= bytes.length) return clearInterval(timer);
    s.write(bytes.subarray(i, ++i));
  }, everyMs);
  s.once('close', () => clearInterval(timer));
};

function hostileCrowd(): Promise<void>[] {
  const pod = `${cluster.podIPs.n1![0]}:7`;
  const crowd: Promise<void>[] = [];
  const times = (n: number, f: () => Promise<void>): void => {
    for (let i = 0; i < n; i++) crowd.push(f());
  };
  // HTTP CONNECT front end.
  times(40, () => badClient(httpPort, (s) => s.write(randomBytes(1 + Math.floor(Math.random() * 4096)))));
  times(40, () => badClient(httpPort, () => undefined)); // connect and say nothing (half-open)
  times(30, () => badClient(httpPort, (s) => drip(s, Buffer.from(apiserverRequest(pod)), 100))); // slowloris
  times(10, () => badClient(httpPort, (s) => s.write(`CONNECT ${pod} HTTP/1.1\r\nX: ${'a'.repeat(64 * 1024)}\r\n\r\n`)));
  times(10, () => badClient(httpPort, (s) => s.end(`GET / HTTP/1.1\r\nHost: x\r\n\r\n`)));
  times(20, () => badClient(httpPort, (s) => {
    s.write(apiserverRequest(pod));
    s.write(randomBytes(200_000));
    setTimeout(() => s.resetAndDestroy(), 20); // reset while the tunnel opens or streams
  }));
  times(10, () => badClient(httpPort, (s) => {
    s.write(apiserverRequest(pod)); // an established stream whose client never reads what the echo sends
    s.write(randomBytes(4 * 1024 * 1024));
    s.pause();
    s.removeAllListeners('data');
    setTimeout(() => s.destroy(), 2_000);
  }));
  // SOCKS5 front end.
  times(30, () => badClient(socksPort, (s) => s.write(randomBytes(1 + Math.floor(Math.random() * 300)))));
  times(20, () => badClient(socksPort, (s) => s.write(Buffer.from([5, 255, 0, 1]))));
  times(20, () => badClient(socksPort, (s) => drip(s, Buffer.from([5, 1, 0, 5, 1, 0, 1, 198, 19, 1, 7, 0, 7]), 150)));
  times(10, () => badClient(socksPort, (s) => s.write(Buffer.from([4, 1, 0, 7, 198, 19, 1, 7, 0]))));
  times(10, () => badClient(socksPort, () => undefined));
  return crowd;
}

test('a crowd of bad clients never disturbs a good client on the same front ends', async () => {
  const crowd = hostileCrowd();
  const good: Array<{ kind: string; result: string; ms: number }> = [];
  const deadline = Date.now() + 3 * TIMEOUT_MS;
  for (let round = 0; Date.now() < deadline || round < 6; round++) {
    const started = performance.now();
    const viaSocks = round % 2 === 1;
    const d = viaSocks
      ? await socksConnect({ port: socksPort }, cluster.podIPs.n2![0]!, 7)
      : await httpConnect({ port: httpPort }, `${cluster.podIPs.n2![0]}:7`);
    assert.equal(d.status, viaSocks ? 0 : 200, d.text);
    good.push({ kind: viaSocks ? 'socks' : 'http', result: await echoRound(d.socket, 256 * 1024), ms: performance.now() - started });
  }
  assert.ok(good.every((g) => g.result === 'intact'), JSON.stringify(good));
  // Each round moves 512 KiB through the echo and back (~20 ms alone). The crowd's traffic shares this one
  // process with the simulated nodes, so rounds slow down with the CPU it takes; a stall behind a bad
  // client (a round waiting for a header or handshake timeout) would still show as seconds more.
  const times = good.map((g) => g.ms).sort((a, b) => a - b);
  assert.ok(times[Math.floor(times.length / 2)]! < 1_000, `median good round took ${times[Math.floor(times.length / 2)]} ms`);
  assert.ok(times.at(-1)! < 5_000, `slowest good round took ${times.at(-1)} ms`);

  // Every bad client is closed by the server within its timeouts (slowloris and silence by the header timer).
  let giveUp: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(crowd), new Promise((_, reject) => (giveUp = setTimeout(() => reject(new Error('bad clients left open')), 10_000)))]);
  clearTimeout(giveUp);
  await waitFor(() => http.openConnections === 0 && socks.openConnections === 0, 'front ends to hold no connection', 5_000);
  await waitFor(() => pool.status().every((s) => s.openStreams === 0), 'no tunnel stream left open', 5_000);
  assert.ok(pool.status().every((s) => s.state === 'READY'), 'tunnels untouched');

  // And the front ends still serve.
  const after = await httpConnect({ port: httpPort }, `${cluster.podIPs.n1![1]}:7`);
  assert.equal(after.status, 200);
  assert.equal(await echoRound(after.socket, 64 * 1024), 'intact');
});
