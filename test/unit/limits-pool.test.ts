// The pool's resource bounds, each pushed past its limit: the dial fails fast with its typed error, and
// once the pressure is gone the same tunnels serve again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DialQueueFullError, StreamLimitError, TunnelClosedError } from '../../src/errors.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { SshChannel, SshConnector } from '../../src/ssh/ssh-session.js';
import { FakeSession, fakeConnector, node, settle } from './fake-connector.js';

function makePool(extra: Partial<ConstructorParameters<typeof TunnelPool>[0]> = {}) {
  const fake = fakeConnector();
  const pool = new TunnelPool({ user: 'root', connector: fake.connector, retryPolicy: () => 60_000, ...extra });
  return { pool, ...fake };
}

const dial = (timeoutMs = 5_000) => ({ target: 't:1', deadline: Date.now() + timeoutMs, timeoutMs });

/** A session whose channel opens never answer: a node that black-holes after the handshake. */
class SilentSession extends FakeSession {
  override openChannel(): Promise<SshChannel> {
    return new Promise<SshChannel>(() => undefined);
  }
}

test('maxPendingDials caps dials waiting across all tunnels; they are admitted again once the wait ends', async () => {
  const { pool, attempts } = makePool({ maxPendingDials: 3 });
  pool.setNodes([node('n1'), node('n2')]);
  const waiting = [
    pool.get('n1')!.openStream('198.18.0.11', 9100, dial()),
    pool.get('n1')!.openStream('198.18.0.11', 9100, dial()),
    pool.get('n2')!.openStream('198.18.0.12', 9100, dial()),
  ];
  await assert.rejects(pool.get('n2')!.openStream('198.18.0.12', 9100, dial()), (err: unknown) => {
    assert.ok(err instanceof DialQueueFullError);
    assert.equal(err.code, 'ERR_DIAL_QUEUE_FULL');
    assert.equal(err.scope, 'pool');
    assert.match(err.message, /3 dials already pending across all tunnels \(maxPendingDials\)/);
    return true;
  });
  assert.equal(pool.get('n1')!.pendingDials, 2);
  await settle();
  for (const a of attempts) a.succeed();
  const streams = await Promise.all(waiting);
  assert.equal(pool.get('n1')!.pendingDials, 0);
  // The budget came back: a fourth (and fifth) dial goes through.
  streams.push(await pool.get('n2')!.openStream('198.18.0.12', 9100, dial()));
  streams.push(await pool.get('n1')!.openStream('198.18.0.11', 9100, dial()));
  assert.equal(streams.length, 5);
  for (const s of streams) s.destroy();
  await pool.close();
});

test('maxPendingDialsPerTunnel counts dials whose channel open hangs, not only those waiting to connect', async () => {
  const connector: SshConnector = () => Promise.resolve(new SilentSession());
  const pool = new TunnelPool({ user: 'root', connector, maxPendingDialsPerTunnel: 2 });
  pool.setNodes([node('n1'), node('n2')]);
  await pool.ready({ timeoutMs: 1000 });
  const n1 = pool.get('n1')!;
  const hung = [n1.openStream('198.18.0.11', 1, dial(80)), n1.openStream('198.18.0.11', 1, dial(80))];
  await assert.rejects(n1.openStream('198.18.0.11', 1, dial()), (err: unknown) => err instanceof DialQueueFullError && err.scope === 'tunnel');
  // Another tunnel is not affected by n1's queue.
  const other = pool.get('n2')!.openStream('198.18.0.12', 1, dial(80));
  for (const p of [...hung, other]) await assert.rejects(p, /timed out after 80 ms \(opening the SSH channel\)/);
  // The timed-out dials released their places.
  await assert.rejects(n1.openStream('198.18.0.11', 1, dial(20)), /timed out/);
  await pool.close();
});

test('maxStreamsPerTunnel refuses the stream past the limit, counting channels still opening; a close frees a place', async () => {
  const { pool, attempts } = makePool({ maxStreamsPerTunnel: 2 });
  pool.setNodes([node('n1')]);
  await settle();
  attempts[0]!.succeed();
  await pool.ready({ timeoutMs: 1000 });
  const tunnel = pool.get('n1')!;
  // Three at once: the third is refused although neither of the first two has finished opening.
  const results = await Promise.allSettled([0, 1, 2].map(() => tunnel.openStream('198.18.0.11', 9100, dial())));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
  const refusal = (results[2] as PromiseRejectedResult).reason as StreamLimitError;
  assert.ok(refusal instanceof StreamLimitError);
  assert.equal(refusal.code, 'ERR_STREAM_LIMIT');
  assert.match(refusal.message, /node n1 already carries 2 streams \(maxStreamsPerTunnel\)/);
  const [first, second] = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
  first!.destroy();
  await settle();
  const third = await tunnel.openStream('198.18.0.11', 9100, dial());
  assert.equal(tunnel.openStreams, 2);
  second!.destroy();
  third.destroy();
  await pool.close();
});

test('a refused dial leaves no count behind: limits hold exactly after many refusals', async () => {
  const { pool, attempts } = makePool({ maxStreamsPerTunnel: 1, maxPendingDials: 1 });
  pool.setNodes([node('n1')]);
  await settle();
  attempts[0]!.succeed();
  await pool.ready({ timeoutMs: 1000 });
  const tunnel = pool.get('n1')!;
  const stream = await tunnel.openStream('198.18.0.11', 9100, dial());
  for (let i = 0; i < 100; i++) await assert.rejects(tunnel.openStream('198.18.0.11', 9100, dial()), StreamLimitError);
  stream.destroy();
  await settle();
  const again = await tunnel.openStream('198.18.0.11', 9100, dial());
  again.destroy();
  await pool.close();
});

test('a channel open failing with a plain error (ssh2: "Not connected") is ERR_TUNNEL_CLOSED, not an unknown error', async () => {
  class GoneSession extends FakeSession {
    override openChannel(): Promise<SshChannel> {
      return Promise.reject(new Error('Not connected'));
    }
  }
  const pool = new TunnelPool({ user: 'root', connector: () => Promise.resolve(new GoneSession()) });
  pool.setNodes([node('n1')]);
  await pool.ready({ timeoutMs: 1000 });
  await assert.rejects(pool.get('n1')!.openStream('198.18.0.11', 1, dial()), (err: unknown) => {
    assert.ok(err instanceof TunnelClosedError);
    assert.match(err.message, /cannot open channels \(Not connected\)/);
    return true;
  });
  await pool.close();
});

test('limits must be whole numbers >= 1', () => {
  const { connector } = fakeConnector();
  for (const field of ['maxPendingDials', 'maxStreamsPerTunnel', 'maxPendingDialsPerTunnel'] as const) {
    assert.throws(() => new TunnelPool({ user: 'root', connector, [field]: 0 }), new RegExp(`^ConfigError: ${field}: 0 is not a whole number >= 1$`));
  }
});
