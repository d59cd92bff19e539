import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import parsePrometheusTextFormat, { type PrometheusFamily, type PrometheusSample } from 'parse-prometheus-text-format';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { ConfigError } from '../../src/errors.js';
import { AdminServer, type AdminSource } from '../../src/frontends/admin-server.js';
import { EgressMetrics } from '../../src/frontends/metrics.js';
import type { Frontend } from '../../src/frontends/frontend.js';
import type { TunnelSocket } from '../../src/tunnel/tunnel-socket.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let metrics: EgressMetrics;
let admin: AdminServer;
let base: string;
let source: AdminSource;

const fakeFrontend: Frontend = {
  name: 'connect-uds /tmp/test.sock',
  openConnections: 2,
  listen: async () => {},
  stopAccepting: async () => {},
  destroyAll: () => {},
  reconfigure: () => {},
};

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  metrics = new EgressMetrics(pool, dialer); // before setNodes, so every connect is counted
  metrics.addFrontend(fakeFrontend);
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  source = { pool: () => pool, readyFraction: () => 0.5, metrics };
  admin = new AdminServer({ host: '127.0.0.1', port: 0 }, source);
  const { port } = await admin.listen();
  base = `http://127.0.0.1:${port}`;
});

after(async () => {
  await admin?.close();
  metrics?.close();
  await pool?.close();
  await cluster?.stop();
});

async function get(path: string, method = 'GET'): Promise<{ status: number; body: string; type: string | null; headers: Headers }> {
  const res = await fetch(`${base}${path}`, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type'), headers: res.headers };
}

async function scrape(): Promise<Map<string, PrometheusFamily>> {
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  return new Map(parsePrometheusTextFormat(res.body).map((f) => [f.name, f]));
}

function family(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type']): PrometheusFamily {
  const f = families.get(name);
  assert.ok(f, `metric family ${name} missing`);
  assert.equal(f.type, type, `type of ${name}`);
  return f;
}

function sample(f: PrometheusFamily, labels: Record<string, string> = {}): PrometheusSample | undefined {
  return f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
}

function value(families: Map<string, PrometheusFamily>, name: string, type: PrometheusFamily['type'], labels: Record<string, string> = {}): number {
  const s = sample(family(families, name, type), labels);
  assert.ok(s, `${name}${JSON.stringify(labels)} missing`);
  return Number(s.value);
}

/**
 * One labelled series of a histogram, parsed. parse-prometheus-text-format flattens a histogram family into
 * a single unlabelled sample (buckets of every label set overwrite each other, and _sum/_count with labels
 * are dropped), so the series is cut out, its other labels removed, and only then parsed.
 */
function histogramSeries(text: string, name: string, labels: Record<string, string>): PrometheusSample {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith(`# TYPE ${name} `) || (/^\w+\{/.test(l) && l.startsWith(`${name}_`) && wanted.every((w) => l.includes(w))))
    .map((l) =>
      l.replace(/\{([^}]*)\}/, (_, inner: string) => {
        const kept = inner.split(',').filter((pair) => !wanted.includes(pair));
        return kept.length ? `{${kept.join(',')}}` : '';
      }),
    );
  const [family] = parsePrometheusTextFormat(`${lines.join('\n')}\n`);
  assert.equal(family?.type, 'HISTOGRAM');
  assert.equal(family.metrics.length, 1);
  return family.metrics[0]!;
}

/** Writes `size` bytes to a pod's echo port through the tunnels and waits for all of them back. */
async function echo(stream: TunnelSocket, size: number): Promise<void> {
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= size) resolve();
    });
    stream.once('error', reject);
  });
  stream.write(randomBytes(size));
  await done;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

test('/healthz answers ok; unknown paths 404; other methods 405', async () => {
  const health = await get('/healthz');
  assert.equal(health.status, 200);
  assert.equal(health.body, 'ok\n');
  assert.equal(health.headers.get('cache-control'), 'no-store');
  assert.equal((await get('/nope')).status, 404);
  const post = await get('/metrics', 'POST');
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  assert.equal((await get('/readyz', 'DELETE')).status, 405);
  const head = await get('/healthz', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
});

test('/readyz is 200 with every tunnel READY; ?verbose says how many', async () => {
  const res = await get('/readyz');
  assert.equal(res.status, 200);
  assert.equal(res.body, 'ok\n');
  const verbose = await get('/readyz?verbose');
  assert.equal(verbose.status, 200);
  assert.equal(verbose.body, 'ok: 3 of 3 tunnels READY (need 50%)\n');
});

test('/metrics parses as Prometheus text with tunnels, dials, failures, latency, streams and bytes', async () => {
  const pod = cluster.podIPs.n1?.[0];
  const stream = await dialer.dial(`${pod}:7`);
  await echo(stream, 2048);
  stream.destroy();
  await once(stream, 'close');
  (await dialer.dial({ kind: 'kubelet', node: 'n2' })).destroy();
  await assert.rejects(dialer.dial('192.0.2.10:443'), { code: 'ERR_NO_ROUTE' });
  await assert.rejects(dialer.dial(`${pod}:9999`), { code: 'ERR_CHANNEL_OPEN' });

  const res = await get('/metrics');
  assert.match(res.type ?? '', /^text\/plain; version=0\.0\.4/);
  const m = new Map(parsePrometheusTextFormat(res.body).map((f) => [f.name, f]));

  assert.equal(value(m, 'ssh_egress_tunnels', 'GAUGE', { state: 'READY' }), 3);
  for (const state of ['IDLE', 'CONNECTING', 'TRANSIENT_FAILURE', 'SHUTDOWN']) {
    assert.equal(value(m, 'ssh_egress_tunnels', 'GAUGE', { state }), 0, state);
  }
  assert.equal(value(m, 'ssh_egress_tunnels_draining', 'GAUGE'), 0);
  assert.equal(value(m, 'ssh_egress_tunnel_connects_total', 'COUNTER'), 3);
  family(m, 'ssh_egress_tunnel_connect_failures_total', 'COUNTER');
  family(m, 'ssh_egress_tunnel_disconnects_total', 'COUNTER');

  assert.equal(value(m, 'ssh_egress_dials_total', 'COUNTER', { route: 'pod', result: 'success' }), 1);
  assert.equal(value(m, 'ssh_egress_dials_total', 'COUNTER', { route: 'pod', result: 'failure' }), 1);
  assert.equal(value(m, 'ssh_egress_dials_total', 'COUNTER', { route: 'kubelet', result: 'success' }), 1);
  assert.equal(value(m, 'ssh_egress_dials_total', 'COUNTER', { route: 'none', result: 'failure' }), 1);
  assert.equal(value(m, 'ssh_egress_dials_total', 'COUNTER', { route: 'service', result: 'success' }), 0);
  assert.equal(value(m, 'ssh_egress_dial_failures_total', 'COUNTER', { reason: 'ERR_NO_ROUTE' }), 1);
  assert.equal(value(m, 'ssh_egress_dial_failures_total', 'COUNTER', { reason: 'ERR_CHANNEL_OPEN' }), 1);

  family(m, 'ssh_egress_dial_duration_seconds', 'HISTOGRAM');
  const podLatency = histogramSeries(res.body, 'ssh_egress_dial_duration_seconds', { route: 'pod' });
  assert.equal(podLatency.count, '1');
  assert.ok(Number(podLatency.sum) > 0 && Number(podLatency.sum) < 10);
  const bounds = Object.keys(podLatency.buckets ?? {}).map((le) => (le === '+Inf' ? Infinity : Number(le)));
  assert.deepEqual(bounds.sort((a, b) => a - b), [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity]);
  assert.equal(podLatency.buckets?.['10'], '1');
  assert.equal(podLatency.buckets?.['+Inf'], '1');
  assert.equal(histogramSeries(res.body, 'ssh_egress_dial_duration_seconds', { route: 'kubelet' }).count, '1');

  assert.equal(value(m, 'ssh_egress_active_streams', 'GAUGE'), 0);
  assert.ok(value(m, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'in' }) >= 2048);
  assert.ok(value(m, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'out' }) >= 2048);
  assert.equal(value(m, 'ssh_egress_frontend_connections', 'GAUGE', { frontend: fakeFrontend.name }), 2);
  family(m, 'ssh_egress_probe_rtt_max_seconds', 'GAUGE');
  family(m, 'ssh_egress_probe_failing_tunnels', 'GAUGE');

  // Process metrics come from this registry too, under the same prefix.
  assert.ok(value(m, 'ssh_egress_process_resident_memory_bytes', 'GAUGE') > 0);
  family(m, 'ssh_egress_process_cpu_user_seconds_total', 'COUNTER');
});

test('an open stream counts in active_streams', async () => {
  const stream = await dialer.dial(`${cluster.podIPs.n2?.[0]}:7`);
  assert.equal(value(await scrape(), 'ssh_egress_active_streams', 'GAUGE'), 1);
  stream.destroy();
  await once(stream, 'close');
  assert.equal(value(await scrape(), 'ssh_egress_active_streams', 'GAUGE'), 0);
});

test('stream bytes stay monotonic when a node with traffic leaves the inventory', async () => {
  const stream = await dialer.dial(`${cluster.podIPs.n3?.[0]}:7`);
  await echo(stream, 64 * 1024);
  const before = await scrape();
  const inBefore = value(before, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'in' });
  const poolBytesBefore = pool.status().reduce((sum, s) => sum + s.bytesIn, 0);

  pool.setNodes(cluster.nodes.filter((n) => n.name !== 'n3'));
  const draining = await scrape();
  assert.equal(value(draining, 'ssh_egress_tunnels_draining', 'GAUGE'), 1);
  assert.equal(value(draining, 'ssh_egress_tunnels', 'GAUGE', { state: 'READY' }), 2);
  await echo(stream, 1024); // a draining tunnel's streams keep counting
  stream.destroy();
  await until(() => pool.status().every((s) => s.node !== 'n3'), 'n3 to finish draining');

  // The pool's own sum fell (n3 is gone), which is the case the metric must survive.
  assert.ok(pool.status().reduce((sum, s) => sum + s.bytesIn, 0) < poolBytesBefore);
  const afterRemoval = await scrape();
  assert.ok(value(afterRemoval, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'in' }) >= inBefore + 1024);
  assert.equal(value(afterRemoval, 'ssh_egress_tunnels_draining', 'GAUGE'), 0);

  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  const back = await scrape();
  assert.equal(value(back, 'ssh_egress_tunnels', 'GAUGE', { state: 'READY' }), 3);
  assert.equal(value(back, 'ssh_egress_tunnel_connects_total', 'COUNTER'), 4);
  assert.ok(
    value(back, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'in' }) >=
      value(afterRemoval, 'ssh_egress_stream_bytes_total', 'COUNTER', { direction: 'in' }),
  );
});

test('/status is JSON with version, uptime, readiness and every tunnel, and no unexpected fields', async () => {
  const res = await get('/status');
  assert.equal(res.status, 200);
  assert.equal(res.type, 'application/json');
  const body = JSON.parse(res.body) as Record<string, unknown> & { tunnels: Array<Record<string, unknown>>; ready: Record<string, unknown> };
  const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };
  assert.deepEqual(Object.keys(body).sort(), ['nodesWithoutTunnel', 'ready', 'tunnels', 'uptimeSeconds', 'version']);
  assert.equal(body.version, version);
  assert.equal(typeof body.uptimeSeconds, 'number');
  assert.deepEqual(body.ready, { ready: true, readyCount: 3, total: 3, reasons: [], readyFraction: 0.5 });
  assert.deepEqual(body.tunnels.map((t) => t.node).sort(), ['n1', 'n2', 'n3']);
  const allowed = new Set(['node', 'address', 'sshPort', 'mode', 'direction', 'agent', 'state', 'since', 'lastError', 'attempts', 'nextRetryAt', 'hostKeyFingerprint', 'draining', 'openStreams', 'connections', 'inFlightBytes', 'bytesIn', 'bytesOut', 'health']);
  for (const t of body.tunnels) {
    assert.equal(t.state, 'READY');
    assert.match(String(t.hostKeyFingerprint), /^SHA256:/);
    for (const key of Object.keys(t)) assert.ok(allowed.has(key), `unexpected field ${key}`);
  }
});

test('two metrics objects in one process do not clash', async () => {
  const other = new EgressMetrics(pool, dialer);
  assert.match(await other.text(), /ssh_egress_tunnels\{state="READY"\} 3/);
  other.close();
});

test('/readyz turns 503 with reasons when too few tunnels are READY, and failures are counted', async () => {
  await cluster.node('n1').stop();
  await cluster.node('n2').stop();
  await until(async () => {
    const m = await scrape();
    return (sample(family(m, 'ssh_egress_tunnel_connect_failures_total', 'COUNTER'), { reason: 'ERR_CONNECT' })?.value ?? '0') !== '0';
  }, 'a failed reconnect to be counted');

  const res = await get('/readyz');
  assert.equal(res.status, 503);
  assert.equal(res.body, 'not ready: 1 of 3 tunnels READY (need 50%)\n');
  const verbose = await get('/readyz?verbose');
  assert.equal(verbose.status, 503);
  const lines = verbose.body.trimEnd().split('\n');
  assert.equal(lines[0], 'not ready: 1 of 3 tunnels READY (need 50%)');
  assert.equal(lines.length, 4);
  assert.match(verbose.body, /^ {2}n1 (TRANSIENT_FAILURE|CONNECTING): \S/m);
  assert.match(verbose.body, /^ {2}n2 (TRANSIENT_FAILURE|CONNECTING): \S/m);
  assert.equal(lines[3], 'no tunnel on this replica: n1 (forward), n2 (forward)');

  const m = await scrape();
  assert.equal(value(m, 'ssh_egress_tunnel_disconnects_total', 'COUNTER', { reason: 'ERR_TUNNEL_CLOSED' }), 2);
  assert.equal(value(m, 'ssh_egress_tunnels', 'GAUGE', { state: 'READY' }), 1);
  const status = JSON.parse((await get('/status')).body) as { ready: { ready: boolean; reasons: string[] } };
  assert.equal(status.ready.ready, false);
  assert.equal(status.ready.reasons.length, 2);
});

test('a non-loopback admin host is refused unless explicitly allowed', () => {
  for (const host of ['0.0.0.0', '::', '198.18.0.1', 'admin.example.com']) {
    assert.throws(() => new AdminServer({ host, port: 0 }, source), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.path, 'listeners.admin.listen');
      assert.match(err.message, /not a loopback address/);
      return true;
    });
  }
  assert.doesNotThrow(() => new AdminServer({ host: '0.0.0.0', port: 0, allowNonLoopback: true }, source));
  assert.doesNotThrow(() => new AdminServer({ host: '::1', port: 0 }, source));
});

test('defaults to 127.0.0.1:8132', () => {
  assert.equal(new AdminServer({}, source).name, 'admin http://127.0.0.1:8132');
});
