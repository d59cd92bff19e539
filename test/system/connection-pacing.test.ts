// connectionsPerNode and connectionWindowBytes against real OpenSSH sshd: two SSH connections per node, and
// uploads paced to the smallest budget still move every byte, because each stream may always keep in flight
// what sshd needs to see before it acknowledges.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { Dialer, TunnelPool, loadInventory } from '../../src/index.js';
import { loadTopology } from './topology.js';
import { roundTrip, sha256 } from '../support/streams.js';

const t = loadTopology();
const node = t.nodes[0]!;
let pool: TunnelPool;
let dialer: Dialer;
let sessionsBefore = 0;

/** SSH connections from the control plane that the node's sshd holds now. */
async function sshSessions(): Promise<number> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', node.namespace, 'ss', '-Htn', 'state', 'established', `( sport = :22 and dst ${t.cpAddress} )`]);
  return stdout.split('\n').filter((line) => line.trim() !== '').length;
}

before(async () => {
  sessionsBefore = await sshSessions();
  pool = new TunnelPool({
    user: t.user,
    identityFile: t.identityFile,
    knownHostsFile: t.knownHostsFile,
    connectionsPerNode: 2,
    connectionWindowBytes: 64 * 1024,
  });
  pool.setNodes((await loadInventory(t.inventoryFile)).filter((n) => n.name === node.name));
  await pool.ready({ timeoutMs: 15_000 });
  dialer = new Dialer(pool);
});

after(async () => {
  await pool?.close();
});

test('connectionsPerNode 2 holds two SSH connections to the node, READY as one tunnel', async () => {
  assert.equal((await sshSessions()) - sessionsBefore, 2);
  const [status] = pool.status();
  assert.equal(status?.state, 'READY');
  assert.equal(status?.connections, 2);
  assert.equal(status?.hostKeyFingerprint, node.hostKeyFingerprint);
});

test('16 streams pushing 2 MiB each through a 64 KiB connection window all arrive intact, paced', { timeout: 120_000 }, async () => {
  const podIP = node.podIPs[0]!;
  // What sshd has not acknowledged, sampled while the streams push. Paced, it stays under the budget plus, per
  // stream, the four packets (128 KiB) each may always keep in flight and the 64 KiB slice it may add to them;
  // unpaced, each stream could have sshd's whole 2 MiB window out.
  const limit = 2 * (64 * 1024) + 16 * (128 * 1024 + 64 * 1024);
  let most = 0;
  const sampler = setInterval(() => (most = Math.max(most, pool.status()[0]?.inFlightBytes ?? 0)), 1);
  const results = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const payload = randomBytes(2 * 1024 * 1024);
      const echoed = await roundTrip(await dialer.dial(`${podIP}:${t.ports.echo}`), payload);
      return echoed.length === payload.length && sha256(echoed) === sha256(payload);
    }),
  );
  clearInterval(sampler);
  assert.deepEqual(results.filter((ok) => !ok).length, 0);
  assert.ok(most > 0, 'in-flight data is counted against sshd\'s acknowledgements');
  assert.ok(most <= limit, `in flight at most ${limit} bytes, saw ${most}`);
});

test('killing one of the two sshd sessions fails the node\'s streams and brings both back', { timeout: 60_000 }, async () => {
  const open = await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`);
  const failed = new Promise<Error>((resolve) => open.once('error', resolve));
  // The per-connection sshd children of the listener; kill one of ours.
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', node.namespace, 'ss', '-Htnp', 'state', 'established', `( sport = :22 and dst ${t.cpAddress} )`]);
  const pid = /pid=(\d+)/.exec(stdout)?.[1];
  assert.ok(pid, stdout);
  process.kill(Number(pid), 'SIGKILL');
  assert.equal((await failed as Error & { code?: string }).code, 'ERR_TUNNEL_CLOSED');
  await pool.ready({ timeoutMs: 30_000 });
  const echoed = await roundTrip(await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`), Buffer.from('again'));
  assert.equal(echoed.toString(), 'again');
  assert.equal((await sshSessions()) - sessionsBefore, 2);
});
