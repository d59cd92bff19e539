// Graceful degradation on real sshd: with most nodes down (one sshd killed, one frozen: a black hole) and
// dials hammering them, dials to the healthy node keep their normal latency, ClusterIP dials move to it,
// and dials to the dead nodes fail fast with a reason instead of waiting out their timeout.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { Dialer, TunnelPool, loadInventory, type EgressError } from '../../src/index.js';
import { killSshd, loadTopology, startSshd } from './topology.js';

const t = loadTopology();
const [healthy, killed, frozen] = t.nodes;
const ROUNDS = 300;
let pool: TunnelPool | undefined;

after(async () => {
  await pool?.close();
});

/** One dial plus a 1 KiB echo round trip, in ms. */
async function roundTrip(dialer: Dialer, target: string): Promise<number> {
  const started = performance.now();
  const stream = await dialer.dial(target);
  const back: Buffer[] = [];
  stream.on('data', (c: Buffer) => back.push(c));
  stream.end(Buffer.alloc(1024, 7));
  await once(stream, 'end');
  assert.equal(Buffer.concat(back).length, 1024);
  return performance.now() - started;
}

async function measure(dialer: Dialer, target: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) times.push(await roundTrip(dialer, target));
  return times.sort((a, b) => a - b);
}

const p50 = (sorted: number[]): number => sorted[Math.floor(sorted.length / 2)]!;

test('with two of three nodes down, dials to the healthy one keep their latency', { timeout: 120_000 }, async () => {
  assert.ok(healthy && killed && frozen, 'the topology has three nodes');
  pool = new TunnelPool({
    user: t.user,
    identityFile: t.identityFile,
    knownHostsFile: t.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    keepaliveIntervalMs: 300,
    keepaliveCountMax: 2,
    handshakeTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    backoff: { initialDelayMs: 100, maxDelayMs: 1_000 },
  });
  pool.setNodes(await loadInventory(t.inventoryFile));
  await pool.ready({ timeoutMs: 15_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
  const target = `${healthy.podIPs[0]}:${t.ports.echo}`;
  await measure(dialer, target); // warm up (JIT, first channels)
  const before = await measure(dialer, target);

  await killSshd(t, killed, 'SIGKILL', { sessions: true });
  await killSshd(t, frozen, 'SIGSTOP', { sessions: true });
  let hammering = true;
  const failures: Array<{ code: string | undefined; ms: number }> = [];
  try {
    await waitForState(pool, [killed.name, frozen.name], (s) => s !== 'READY', 15_000);
    // Background: a steady stream of dials to the dead nodes, each of which must fail, and fail fast.
    const hammer = async (ip: string): Promise<void> => {
      while (hammering) {
        const started = performance.now();
        const err = await dialer.dial(`${ip}:${t.ports.echo}`, { timeoutMs: 5_000 }).then(
          (s) => {
            s.destroy();
            return undefined;
          },
          (e: unknown) => e as EgressError,
        );
        failures.push({ code: err?.code, ms: performance.now() - started });
        await new Promise((r) => setTimeout(r, 1));
      }
    };
    const hammers = [killed, frozen, killed, frozen].map((n) => hammer(n.podIPs[0]!));
    const afterTimes = await measure(dialer, target);
    const service = await roundTrip(dialer, `${t.clusterIP}:${t.ports.echo}`);
    hammering = false;
    await Promise.all(hammers);

    const [b, a] = [p50(before), p50(afterTimes)];
    console.log(`# p50 before ${b.toFixed(2)} ms, with two nodes down ${a.toFixed(2)} ms; ${failures.length} dials to dead nodes`);
    assert.ok(a <= 3 * b + 2, `p50 went from ${b.toFixed(2)} ms to ${a.toFixed(2)} ms`);
    assert.ok(service < 1_000, 'a ClusterIP dial goes to the healthy node at once');
    assert.ok(failures.length > 50, 'the dead nodes were dialled throughout');
    assert.ok(failures.every((f) => f.code === 'ERR_TUNNEL_UNAVAILABLE'), JSON.stringify([...new Set(failures.map((f) => f.code))]));
    const slowest = Math.max(...failures.map((f) => f.ms));
    assert.ok(slowest < 500, `a dial to a dead node took ${slowest.toFixed(0)} ms (fail fast, not at the 5 s timeout)`);
  } finally {
    hammering = false;
    await killSshd(t, frozen, 'SIGCONT', { sessions: true });
    await startSshd(t, killed);
  }
  await pool.ready({ timeoutMs: 20_000 });
});

function waitForState(p: TunnelPool, nodes: string[], ok: (state: string) => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): boolean => nodes.every((n) => ok(p.status().find((s) => s.node === n)?.state ?? 'missing'));
    if (check()) return resolve();
    const timer = setTimeout(() => {
      p.off('stateChange', listener);
      reject(new Error(`nodes ${nodes.join(', ')} did not reach the state in ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (): void => {
      if (!check()) return;
      clearTimeout(timer);
      p.off('stateChange', listener);
      resolve();
    };
    p.on('stateChange', listener);
  });
}
