// Pool behaviour under faults, against in-process fake nodes: dropped handshakes at scale, auth refusal,
// an unhealthy kubelet, a hung node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { nextState } from '../support/next-state.js';
import { Dialer } from '../../src/dialer/dialer.js';
import type { EgressError } from '../../src/errors.js';
import { readiness } from '../../src/frontends/readiness.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import type { TunnelStatus } from '../../src/tunnel/tunnel-status.js';


test('100 nodes, some dropping handshakes as MaxStartups does: all end READY', { timeout: 120_000 }, async () => {
  const cluster = await startSimulatedCluster({ nodes: 100 });
  // Every third node drops its first handshake (absorbed by the quick retry); every tenth drops five
  // (more than the quick retries, so the tunnel's backoff takes over).
  cluster.nodes.forEach((node, i) => {
    if (i % 10 === 0) cluster.node(node.name).dropHandshakes(5);
    else if (i % 3 === 0) cluster.node(node.name).dropHandshakes(1);
  });
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    backoff: { initialDelayMs: 100, maxDelayMs: 1000 },
  });
  try {
    pool.setNodes(cluster.nodes);
    await pool.ready({ timeoutMs: 90_000 });
    const status = pool.status();
    assert.equal(status.length, 100);
    assert.ok(status.every((s) => s.state === 'READY'));
    const retried = status.filter((_, i) => i % 10 === 0);
    assert.ok(retried.every((s) => s.lastError?.code === 'ERR_HANDSHAKE'), 'nodes that dropped 5 handshakes went through a failed attempt');
    const absorbed = status.filter((_, i) => i % 10 !== 0 && i % 3 === 0);
    assert.ok(absorbed.every((s) => s.lastError === undefined), 'a single dropped handshake never reached the tunnel');
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

test('authentication refused parks the tunnel; reconnect() retries at once', async () => {
  const cluster = await startSimulatedCluster({ nodes: 1 });
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    backoff: { initialDelayMs: 10, permanentFailureDelayMs: 60_000 },
  });
  try {
    cluster.node('n1').setAuthorizedKey(null);
    const failed = nextState(pool, 'n1', 'TRANSIENT_FAILURE');
    pool.setNodes(cluster.nodes);
    const change = await failed;
    assert.equal(change.error?.code, 'ERR_AUTH');
    assert.match(change.error!.message, /authentication refused by node n1 for user egress/);
    const [status] = pool.status();
    assert.ok(Date.parse(status!.nextRetryAt!) - Date.now() > 50_000, 'parked for the long delay, not the 10 ms backoff');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(pool.status()[0]!.attempts, 1, 'no further attempts while parked');

    cluster.node('n1').setAuthorizedKey(readFileSync(`${cluster.identityFile}.pub`, 'utf8'));
    pool.reconnect();
    await pool.ready({ timeoutMs: 5000 });
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

// Deliberate change (issue 15): a kubelet that answers badly over a working SSH connection no longer gets that
// connection dropped and remade (the node flapped between READY and not); it is marked unhealthy instead.
test('a kubelet that stops answering 200: the node is unhealthy (no new dials, connection kept) until a probe passes', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { intervalMs: 20, failureThreshold: 3, tls: { ca: readFileSync(cluster.kubeletCaFile) } },
  });
  const dialer = new Dialer(pool);
  try {
    pool.setNodes(cluster.nodes);
    await pool.ready({ timeoutMs: 5000 });
    while (!pool.status().every((s) => s.health?.rttMs !== undefined)) await new Promise((r) => setTimeout(r, 10));
    const changes: string[] = [];
    pool.on('stateChange', (c) => changes.push(`${c.node} ${c.to}`));
    cluster.node('n2').setKubeletHealthy(false);
    const n2 = (): TunnelStatus => pool.status().find((s) => s.node === 'n2')!;
    while (n2().health?.healthy !== false) await new Promise((r) => setTimeout(r, 10));
    assert.equal(n2().health?.lastProbeErrorCode, 'ERR_KUBELET_STATUS');
    assert.match(n2().health?.lastProbeError ?? '', /HTTP 500/);
    await assert.rejects(dialer.dial({ kind: 'kubelet', node: 'n2' }), (err: EgressError) => err.code === 'ERR_TUNNEL_UNAVAILABLE' && /health check fails \(ERR_KUBELET_STATUS/.test(err.message));
    assert.equal(readiness(pool.status(), 1).ready, false);
    // Several probe intervals on: still the same SSH connection, no state change at all.
    const failures = n2().health!.consecutiveFailures;
    while (n2().health!.consecutiveFailures < failures + 5) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(changes, [], 'no reconnect, no flapping');
    assert.equal(n2().state, 'READY');
    assert.equal(cluster.node('n2').connections, 1);
    assert.equal(pool.healthProblem(pool.get('n1')!), undefined, 'the healthy node is untouched');

    cluster.node('n2').setKubeletHealthy(true);
    while (n2().health?.healthy !== true) await new Promise((r) => setTimeout(r, 10));
    assert.equal(readiness(pool.status(), 1).ready, true);
    (await dialer.dial({ kind: 'kubelet', node: 'n2' })).destroy();
    assert.deepEqual(changes, []);
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

test('kubelet certificates the given CA did not sign: every node unhealthy with ERR_KUBELET_CERT, READY, never reconnected', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const wrongCa = await createClusterCa('some other CA');
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { intervalMs: 20, failureThreshold: 2, tls: { ca: wrongCa.certPem } },
  });
  try {
    const changes: string[] = [];
    pool.on('stateChange', (c) => changes.push(`${c.node} ${c.to}`));
    pool.setNodes(cluster.nodes);
    await pool.ready({ timeoutMs: 5000 });
    while (!pool.status().every((s) => (s.health?.consecutiveFailures ?? 0) >= 8)) await new Promise((r) => setTimeout(r, 10));
    for (const s of pool.status()) {
      assert.equal(s.state, 'READY');
      assert.equal(s.health?.healthy, false);
      assert.equal(s.health?.lastProbeErrorCode, 'ERR_KUBELET_CERT');
      assert.equal(s.health?.kubeletVerified, true);
      assert.equal(s.attempts, 0);
    }
    assert.deepEqual(changes.sort(), ['n1 CONNECTING', 'n1 READY', 'n2 CONNECTING', 'n2 READY'], 'one connection each, kept');
    const r = readiness(pool.status(), 0.5);
    assert.equal(r.ready, false);
    assert.match(r.reasons.join('\n'), /n1 READY but unhealthy: ERR_KUBELET_CERT/);
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

test('probes whose channel sshd never answers: the SSH path is dead, so the tunnel is reconnected after N failures', async () => {
  const cluster = await startSimulatedCluster({ nodes: 1 });
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { intervalMs: 20, timeoutMs: 100, failureThreshold: 2, tls: { ca: readFileSync(cluster.kubeletCaFile) } },
    backoff: { initialDelayMs: 10 },
  });
  try {
    pool.setNodes(cluster.nodes);
    await pool.ready({ timeoutMs: 5000 });
    cluster.node('n1').setHangChannels(true);
    const change = await nextState(pool, 'n1', 'TRANSIENT_FAILURE');
    assert.equal(change.error?.code, 'ERR_TUNNEL_CLOSED');
    assert.match(change.error!.message, /health check failed 2 times in a row: .*opening the SSH channel|health check failed 2 times in a row: dial .* was aborted/);
    assert.equal(pool.status()[0]!.health?.healthy, true, 'a dead SSH path is the tunnel\'s failure, not the node\'s health');
    cluster.node('n1').setHangChannels(false);
    await pool.ready({ timeoutMs: 5000 });
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

test('a node that accepts TCP but never speaks SSH fails its attempt at the handshake timeout', async () => {
  const cluster = await startSimulatedCluster({ nodes: 1 });
  cluster.node('n1').setHangHandshake(true);
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    handshakeTimeoutMs: 300,
    backoff: { initialDelayMs: 60_000 },
  });
  try {
    const failed = nextState(pool, 'n1', 'TRANSIENT_FAILURE');
    pool.setNodes(cluster.nodes);
    const change = await failed;
    assert.equal(change.error?.code, 'ERR_HANDSHAKE');
    assert.match(change.error!.message, /no handshake within 300 ms/);
  } finally {
    await pool.close();
    await cluster.stop();
  }
});
