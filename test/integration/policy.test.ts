// The destination policy through the simulated cluster: what it denies never reaches a node (the nodes'
// `served` log stays unchanged, no SSH connection is even made), and what it allows still works.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer, type DialerOptions } from '../../src/dialer/dialer.js';
import { ConfigError, NoRouteError, PolicyDeniedError } from '../../src/errors.js';
import type { DialTarget } from '../../src/dialer/target.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
});

after(async () => {
  await pool?.close();
  await cluster?.stop();
});

const CLUSTER_IP_ECHO = '198.19.240.10:7';
const CLUSTER_IP_APP = '198.19.240.10:8080';

/** Dials, checks the stream reached a node, closes it. */
async function reaches(dialer: Dialer, target: DialTarget): Promise<void> {
  const mark = cluster.served.length;
  const stream = await dialer.dial(target);
  stream.destroy();
  assert.equal(cluster.served.length, mark + 1, `${JSON.stringify(target)} was served`);
}

/** Dials, expects the refusal, and that no node served (or was even asked for) anything. */
async function refused(dialer: Dialer, target: DialTarget, want: typeof PolicyDeniedError | typeof NoRouteError, message: RegExp): Promise<void> {
  const mark = cluster.served.length;
  const before = pool.status().map((s) => [s.node, s.bytesOut, s.openStreams]);
  await assert.rejects(dialer.dial(target), (err: unknown) => {
    assert.ok(err instanceof want, `${JSON.stringify(target)}: ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
  assert.equal(cluster.served.length, mark, 'no node served it');
  assert.deepEqual(pool.status().map((s) => [s.node, s.bytesOut, s.openStreams]), before, 'no tunnel carried a byte for it');
}

test('node ports outside policy.nodePorts are refused before any tunnel is used; the kubelet always works', async () => {
  const open = new Dialer(pool);
  const strict = new Dialer(pool, { policy: { nodePorts: ['7'] } });
  const n1 = cluster.nodes[0]!;
  // Without the policy the node's :9100 answers, so the refusal below is the policy's doing.
  await reaches(open, `${n1.address}:9100`);
  await refused(strict, `${n1.address}:9100`, PolicyDeniedError, /^policy denies 127\.0\.1\.1:9100: node ports allowed are 7, 10250 \(kubelet\)$/);
  await refused(strict, { kind: 'node', node: 'n2', port: 9100 }, PolicyDeniedError, /^policy denies n2:9100: /);
  await refused(strict, 'n1.sim.internal:9100', PolicyDeniedError, /^policy denies n1\.sim\.internal:9100: /);
  await reaches(strict, { kind: 'kubelet', node: 'n1' });
  await reaches(strict, `${n1.address}:10250`);
  await reaches(strict, 'n2:7');
  // Pods are not restricted by nodePorts.
  await reaches(strict, `${cluster.podIPs.n1![0]}:8080`);
});

test('allowed ranges with ports: listed ports go through, others are refused; outside everything is ERR_NO_ROUTE', async () => {
  // No serviceCIDRs: the ClusterIP is reachable only as an allowed range, here on port 7 alone.
  const dialer = new Dialer(pool, { policy: { allow: ['198.19.240.0/20:7'] } });
  await reaches(dialer, CLUSTER_IP_ECHO);
  await reaches(new Dialer(pool, { allowedCIDRs: ['198.19.240.0/20'] }), CLUSTER_IP_APP);
  await refused(dialer, CLUSTER_IP_APP, PolicyDeniedError, /port 8080 is not allowed for 198\.19\.240\.10; allowed ports are 7 \(198\.19\.240\.0\/20\)$/);
  // 192.0.2.0/24 (TEST-NET-1) and 8.8.8.8 are never dialled: refused while routing.
  await refused(dialer, '192.0.2.10:443', NoRouteError, /^no route to 192\.0\.2\.10:443/);
  await refused(dialer, '8.8.8.8:53', NoRouteError, /^no route to 8\.8\.8\.8:53/);
  await refused(dialer, 'example.com:443', NoRouteError, /never through DNS/);
});

test('a denied dial makes no SSH connection at all (lazy pool stays IDLE)', async () => {
  const lazy = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile, lazyConnect: true });
  try {
    lazy.setNodes(cluster.nodes);
    const connections = cluster.nodes.map((n) => cluster.node(n.name).connections);
    const dialer = new Dialer(lazy, { serviceCIDRs: cluster.serviceCIDRs, policy: { nodePorts: [] } });
    for (const target of ['n1:9100', 'n2:22', '192.0.2.10:443', '203.0.113.7:80']) {
      await assert.rejects(dialer.dial(target), (err: unknown) => err instanceof PolicyDeniedError || err instanceof NoRouteError);
    }
    assert.deepEqual(lazy.status().map((s) => s.state), ['IDLE', 'IDLE']);
    assert.deepEqual(cluster.nodes.map((n) => cluster.node(n.name).connections), connections);
    // The same dialer still reaches what it allows.
    const kubelet = await dialer.dial({ kind: 'kubelet', node: 'n2' });
    assert.equal(kubelet.node, 'n2');
    kubelet.destroy();
  } finally {
    await lazy.close();
  }
});

test('bad policy options fail at Dialer construction with the field named', () => {
  const cases: { options: DialerOptions; message: string }[] = [
    { options: { policy: { nodePorts: [10250, 9100, '70000'] } }, message: 'policy.nodePorts[2]: "70000" is not a port or port range' },
    { options: { policy: { allow: ['10.0.0.0/8:https'] } }, message: 'policy.allow[0]: "10.0.0.0/8:https" has "https", which is not a port or port range' },
    { options: { allowedCIDRs: ['10.0.0.0'] }, message: 'allowedCIDRs[0]: "10.0.0.0" is not a CIDR (write 10.0.0.0/32 for one address)' },
  ];
  for (const c of cases) {
    assert.throws(() => new Dialer(pool, c.options), (err: unknown) => err instanceof ConfigError && err.message === c.message, c.message);
  }
});
