// Pool behaviour under faults, against in-process fake nodes: dropped handshakes at scale, auth refusal,
// an unhealthy kubelet, a hung node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { nextState } from '../support/next-state.js';


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

test('a kubelet that stops answering 200 gets its tunnel reconnected after N failed probes', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    healthCheck: { intervalMs: 20, failureThreshold: 3, tls: { ca: readFileSync(cluster.kubeletCaFile) } },
  });
  try {
    pool.setNodes(cluster.nodes);
    await pool.ready({ timeoutMs: 5000 });
    while (!pool.status().every((s) => s.health?.rttMs !== undefined)) await new Promise((r) => setTimeout(r, 10));
    cluster.node('n2').setKubeletHealthy(false);
    const change = await nextState(pool, 'n2', 'TRANSIENT_FAILURE');
    assert.match(change.error!.message, /health check failed 3 times in a row: .*500/);
    assert.equal(pool.get('n1')?.currentState, 'READY', 'the healthy node is untouched');
    cluster.node('n2').setKubeletHealthy(true);
    await pool.ready({ timeoutMs: 10_000 });
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
