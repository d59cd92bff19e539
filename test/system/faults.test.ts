// Real faults on real sshd: killed, frozen, not listening, key revoked. Each test asserts what a user of
// the pool sees: errors on streams, state changes, attempt spacing, recovery.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Dialer, TunnelPool, loadInventory, type StateChange, type TunnelPoolOptions } from '../../src/index.js';
import { sshKeygen } from './sshd.js';
import { killSshd, loadTopology, startSshd } from './topology.js';
import { nextState } from '../support/next-state.js';

const t = loadTopology();
const nodes = await loadInventory(t.inventoryFile);
const pools: TunnelPool[] = [];

after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function makePool(names: string[], extra: Partial<TunnelPoolOptions> = {}): { pool: TunnelPool; dialer: Dialer; changes: Array<StateChange & { at: number }> } {
  const pool = new TunnelPool({
    user: t.user,
    identityFile: t.identityFile,
    knownHostsFile: t.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    ...extra,
  });
  pools.push(pool);
  const changes: Array<StateChange & { at: number }> = [];
  pool.on('stateChange', (c) => changes.push({ ...c, at: performance.now() }));
  pool.setNodes(nodes.filter((n) => names.includes(n.name)));
  return { pool, dialer: new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] }), changes };
}


async function echoOnce(dialer: Dialer, target: string): Promise<void> {
  const stream = await dialer.dial(target);
  const payload = Buffer.from(`hello ${target}`);
  const back: Buffer[] = [];
  stream.on('data', (c: Buffer) => back.push(c));
  stream.end(payload);
  await once(stream, 'end');
  assert.deepEqual(Buffer.concat(back), payload);
}

test('sshd killed with streams open: streams fail with ERR_TUNNEL_CLOSED, the tunnel comes back with sshd', async () => {
  const node = t.nodes[0]!;
  const { pool, dialer } = makePool([node.name], { backoff: { initialDelayMs: 100, maxDelayMs: 1000 } });
  await pool.ready({ timeoutMs: 10_000 });
  const streams = await Promise.all(node.podIPs.map((ip) => dialer.dial(`${ip}:${t.ports.echo}`)));
  const errors = streams.map((s) => once(s, 'error'));
  await killSshd(t, node, 'SIGKILL', { sessions: true });
  for (const [err] of await Promise.all(errors)) {
    assert.equal((err as { code?: string }).code, 'ERR_TUNNEL_CLOSED');
    assert.match((err as Error).message, /tunnel to node n1 closed/);
  }
  await nextState(pool, node.name, 'TRANSIENT_FAILURE');
  // While sshd is down, dials fail at once with the reason instead of hanging.
  const refused = await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`).catch((e: unknown) => e as Error);
  assert.equal((refused as { code?: string }).code, 'ERR_TUNNEL_UNAVAILABLE');
  await startSshd(t, node);
  await pool.ready({ timeoutMs: 15_000 });
  await echoOnce(dialer, `${node.podIPs[0]}:${t.ports.echo}`);
});

test('a frozen node (sshd SIGSTOPped) is detected by keepalive, dials fail fast, and it recovers', async () => {
  const node = t.nodes[1]!;
  const keepaliveIntervalMs = 300;
  const keepaliveCountMax = 2;
  const { pool, dialer } = makePool([node.name], {
    keepaliveIntervalMs,
    keepaliveCountMax,
    handshakeTimeoutMs: 1000,
    backoff: { initialDelayMs: 200, maxDelayMs: 500 },
  });
  await pool.ready({ timeoutMs: 10_000 });
  const stream = await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`);
  const streamError = once(stream, 'error');
  const frozenAt = performance.now();
  await killSshd(t, node, 'SIGSTOP', { sessions: true });
  try {
    const change = await nextState(pool, node.name, 'TRANSIENT_FAILURE');
    const detectedMs = performance.now() - frozenAt;
    assert.match(change.error!.message, /Keepalive timeout/i);
    // keepalive fires every interval and gives up after count unanswered ones; allow generous scheduling slack.
    assert.ok(detectedMs < keepaliveIntervalMs * (keepaliveCountMax + 1) + 5_000, `detected after ${detectedMs} ms`);
    const [err] = await streamError;
    assert.equal((err as { code?: string }).code, 'ERR_TUNNEL_CLOSED');
    const started = performance.now();
    const refused = await dialer.dial(`${node.podIPs[0]}:${t.ports.echo}`, { timeoutMs: 30_000 }).catch((e: unknown) => e as Error);
    assert.equal((refused as { code?: string }).code, 'ERR_TUNNEL_UNAVAILABLE');
    assert.ok(performance.now() - started < 15_000, 'the dial did not wait for its 30 s timeout');
  } finally {
    await killSshd(t, node, 'SIGCONT', { sessions: true });
  }
  await pool.ready({ timeoutMs: 15_000 });
  await echoOnce(dialer, `${node.podIPs[0]}:${t.ports.echo}`);
});

test('sshd not listening: attempts are spaced by growing, jittered delays and the process stays idle', async () => {
  const node = t.nodes[2]!;
  await killSshd(t, node, 'SIGTERM');
  try {
    const initialDelayMs = 100;
    const { pool, changes } = makePool([node.name], { backoff: { initialDelayMs, multiplier: 2, maxDelayMs: 5000, jitter: 0.2 } });
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    await new Promise((r) => setTimeout(r, 3300));
    const cpu = process.cpuUsage(cpuBefore);
    const wallMs = performance.now() - wallBefore;
    const starts = changes.filter((c) => c.to === 'CONNECTING').map((c) => c.at);
    const failures = changes.filter((c) => c.to === 'TRANSIENT_FAILURE');
    assert.ok(failures.every((c) => c.error?.code === 'ERR_CONNECT' && /connection refused/.test(c.error.message)));
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    // 100, 200, 400, 800, 1600 ms ±20 %: five or six attempts in 3.3 s, never a hot loop.
    assert.ok(starts.length >= 4 && starts.length <= 7, `attempts at ${gaps.map(Math.round).join(', ')} ms gaps`);
    gaps.forEach((gap, i) => {
      assert.ok(gap >= initialDelayMs * 2 ** i * 0.8 - 2, `gap ${i} was ${gap} ms, below its backoff`);
    });
    assert.ok(gaps.at(-1)! > gaps[0]! * 4, `delays grow: ${gaps.map(Math.round).join(', ')}`);
    const exactPowers = gaps.every((gap, i) => Math.abs(gap - initialDelayMs * 2 ** i) < 1);
    assert.ok(!exactPowers, 'delays carry jitter');
    const cpuMs = (cpu.user + cpu.system) / 1000;
    assert.ok(cpuMs < wallMs * 0.5, `used ${cpuMs} ms CPU in ${wallMs} ms`);
    await pool.close();
  } finally {
    await startSshd(t, node);
  }
});

test('authorized key removed: the tunnel is parked with an authentication reason until reconnect()', async () => {
  const node = t.nodes[0]!;
  const keyFile = join(t.dir, 'revocable_ed25519');
  const authorizedKeys = join(t.dir, 'authorized_keys');
  const original = readFileSync(authorizedKeys, 'utf8');
  const publicKey = await sshKeygen(keyFile, 'revocable');
  appendFileSync(authorizedKeys, `${publicKey}\n`);
  try {
    const { pool, changes } = makePool([node.name], {
      identityFile: keyFile,
      backoff: { initialDelayMs: 50, permanentFailureDelayMs: 60_000 },
    });
    await pool.ready({ timeoutMs: 10_000 });
    writeFileSync(authorizedKeys, original); // the key is removed from the node
    const failed = nextState(pool, node.name, 'TRANSIENT_FAILURE');
    pool.reconnect(node.name);
    const change = await failed.then(() => nextState(pool, node.name, 'TRANSIENT_FAILURE'));
    assert.equal(change.error?.code, 'ERR_AUTH');
    assert.match(change.error!.message, /authentication refused by node n1 for user root/);
    const status = pool.status()[0]!;
    assert.ok(Date.parse(status.nextRetryAt!) - Date.now() > 50_000, 'parked for the long delay');
    const attemptsBefore = changes.filter((c) => c.to === 'CONNECTING').length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(changes.filter((c) => c.to === 'CONNECTING').length, attemptsBefore, 'no retries while parked');
    appendFileSync(authorizedKeys, `${publicKey}\n`); // fixed on the node: reconnect() retries at once
    pool.reconnect();
    await pool.ready({ timeoutMs: 10_000 });
  } finally {
    writeFileSync(authorizedKeys, original);
  }
});
