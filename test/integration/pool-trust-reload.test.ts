// pool.reloadTrust() (SIGHUP): known_hosts read again, connected nodes checked against it, against fake nodes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import type { StateChange } from '../../src/tunnel/tunnel.js';
import type { KnownHostsError } from '../../src/errors.js';
import { nextState } from '../support/next-state.js';

/** Rewrites known_hosts so `node`'s line lists a key the node does not have. */
async function replaceHostKey(cluster: SimulatedCluster, node: string): Promise<void> {
  const spec = cluster.nodes.find((n) => n.name === node)!;
  const host = spec.sshPort === 22 ? spec.address : `[${spec.address}]:${spec.sshPort}`;
  const [type, blob] = generateEd25519().public.split(' ');
  const lines = (await readFile(cluster.knownHostsFile, 'utf8')).split('\n');
  const rewritten = lines.map((line) => (line.startsWith(`${host} `) ? `${host} ${type} ${blob}` : line));
  assert.notDeepEqual(rewritten, lines, `known_hosts has a line for ${host}`);
  await writeFile(cluster.knownHostsFile, rewritten.join('\n'));
}

async function connectedPool(cluster: SimulatedCluster): Promise<TunnelPool> {
  const pool = new TunnelPool({
    user: cluster.user,
    identityFile: cluster.identityFile,
    knownHostsFile: cluster.knownHostsFile,
    backoff: { initialDelayMs: 10, permanentFailureDelayMs: 10 },
  });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 5000 });
  return pool;
}

test('a reload that replaces a node key in known_hosts disconnects that node and refuses it; the other keeps its connection', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const pool = await connectedPool(cluster);
  try {
    const stream = await new Dialer(pool).dial({ kind: 'kubelet', node: 'n1' });
    const streamError = once(stream, 'error');
    const n2Changes: StateChange[] = [];
    pool.on('stateChange', (c) => c.node === 'n2' && n2Changes.push(c));
    const n2Fingerprint = pool.get('n2')!.status().hostKeyFingerprint;
    const n1Fingerprint = pool.get('n1')!.status().hostKeyFingerprint;

    await replaceHostKey(cluster, 'n1');
    const failed = nextState(pool, 'n1', 'TRANSIENT_FAILURE');
    const result = await pool.reloadTrust();
    assert.deepEqual(result, { checked: 2, disconnected: ['n1'] });
    const change = await failed;
    assert.equal(change.error?.code, 'ERR_HOST_KEY_MISMATCH');
    assert.ok(change.error?.message.includes(n1Fingerprint!), 'the message names the presented key');
    const [err] = (await streamError) as [{ code: string }];
    assert.equal(err.code, 'ERR_HOST_KEY_MISMATCH', 'the open stream fails with the host-key error');

    // Reconnect attempts (10 ms apart) are refused by the new known_hosts.
    const refused = await nextState(pool, 'n1', 'TRANSIENT_FAILURE');
    assert.equal(refused.error?.code, 'ERR_HOST_KEY_MISMATCH');
    assert.equal(pool.get('n1')!.currentState, 'TRANSIENT_FAILURE');

    assert.deepEqual(n2Changes, [], 'n2 never changed state');
    assert.equal(pool.get('n2')!.status().hostKeyFingerprint, n2Fingerprint);
    assert.equal(pool.get('n2')!.currentState, 'READY');
  } finally {
    await pool.close();
    await cluster.stop();
  }
});

test('a reload with an unreadable known_hosts rejects and keeps the old trust', async () => {
  const cluster = await startSimulatedCluster({ nodes: 1 });
  const pool = await connectedPool(cluster);
  try {
    // A directory in its place: unreadable even for root (EISDIR).
    await rm(cluster.knownHostsFile);
    await mkdir(cluster.knownHostsFile);
    await assert.rejects(pool.reloadTrust(), (err: KnownHostsError) => err.code === 'ERR_KNOWN_HOSTS');
    assert.equal(pool.get('n1')!.currentState, 'READY');

    // Reconnecting with the file still unreadable works: the trust read before is kept, not wiped.
    pool.get('n1')!.reconnect();
    await pool.ready({ timeoutMs: 5000 });
  } finally {
    await pool.close();
    await cluster.stop();
  }
});
