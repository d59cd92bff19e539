import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthenticationError,
  ConnectError,
  HandshakeError,
  HostKeyMismatchError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  KeyError,
  KnownHostsError,
  TunnelClosedError,
} from '../../src/errors.js';
import { DEFAULT_BACKOFF, exponentialBackoff } from '../../src/timing/backoff.js';

/** random() = 0.5 means no jitter: 2 * 0.5 - 1 = 0. */
const MID = (): number => 0.5;
const LOW = (): number => 0;
const HIGH = (): number => 1;
const TRANSIENT = new ConnectError('n1', 'connection refused');

test('defaults are the documented ones', () => {
  assert.deepEqual(DEFAULT_BACKOFF, {
    initialDelayMs: 1000,
    multiplier: 2,
    maxDelayMs: 30_000,
    jitter: 0.2,
    permanentFailureDelayMs: 300_000,
  });
});

test('without jitter: starts at initialDelayMs, grows by the multiplier, stops at maxDelayMs', () => {
  const policy = exponentialBackoff({}, MID);
  const cases: { attempt: number; want: number }[] = [
    { attempt: 1, want: 1000 },
    { attempt: 2, want: 2000 },
    { attempt: 3, want: 4000 },
    { attempt: 4, want: 8000 },
    { attempt: 5, want: 16_000 },
    { attempt: 6, want: 30_000 },
    { attempt: 7, want: 30_000 },
    { attempt: 50, want: 30_000 },
    // Far past where multiplier ** attempt overflows to Infinity.
    { attempt: 5000, want: 30_000 },
    // Nonsense attempts count as the first.
    { attempt: 0, want: 1000 },
    { attempt: -3, want: 1000 },
  ];
  for (const c of cases) assert.equal(policy(c.attempt, TRANSIENT), c.want, `attempt ${c.attempt}`);
});

test('jitter spreads the delay by ±jitter, never above maxDelayMs nor below 0', () => {
  const cases: { name: string; random: () => number; attempt: number; options?: Parameters<typeof exponentialBackoff>[0]; want: number }[] = [
    { name: 'first, random 0', random: LOW, attempt: 1, want: 800 },
    { name: 'first, random 1', random: HIGH, attempt: 1, want: 1200 },
    { name: 'first, random 0.75', random: () => 0.75, attempt: 1, want: 1100 },
    { name: 'third, random 0', random: LOW, attempt: 3, want: 3200 },
    { name: 'third, random 1', random: HIGH, attempt: 3, want: 4800 },
    // 16000 * 1.2 = 19200, under the cap.
    { name: 'fifth, random 1', random: HIGH, attempt: 5, want: 19_200 },
    // At the cap, jitter can only shorten the delay.
    { name: 'capped, random 1', random: HIGH, attempt: 10, want: 30_000 },
    { name: 'capped, random 0', random: LOW, attempt: 10, want: 24_000 },
    // Capped after jitter too: 20000 * 1.2 = 24000 > 21000.
    { name: 'jitter crosses the cap', random: HIGH, attempt: 2, options: { initialDelayMs: 10_000, maxDelayMs: 21_000 }, want: 21_000 },
    { name: 'jitter 1, random 0', random: LOW, attempt: 1, options: { jitter: 1 }, want: 0 },
    { name: 'jitter 1, random 1', random: HIGH, attempt: 1, options: { jitter: 1 }, want: 2000 },
    { name: 'jitter 0 ignores random', random: HIGH, attempt: 2, options: { jitter: 0 }, want: 2000 },
    // Whole milliseconds.
    { name: 'rounded', random: () => 0.123456, attempt: 1, options: { initialDelayMs: 333 }, want: Math.round(333 + 333 * 0.2 * (2 * 0.123456 - 1)) },
  ];
  for (const c of cases) {
    const delay = exponentialBackoff(c.options ?? {}, c.random)(c.attempt, TRANSIENT);
    assert.equal(delay, c.want, c.name);
    assert.ok(Number.isInteger(delay), `${c.name}: integer`);
  }
});

test('with Math.random every delay stays inside its jitter bounds', () => {
  const policy = exponentialBackoff();
  for (let attempt = 1; attempt <= 12; attempt++) {
    const base = Math.min(30_000, 1000 * 2 ** (attempt - 1));
    for (let i = 0; i < 50; i++) {
      const delay = policy(attempt, TRANSIENT);
      assert.ok(delay !== null && delay >= Math.floor(base * 0.8) && delay <= Math.min(30_000, Math.ceil(base * 1.2)), `attempt ${attempt}: ${delay}`);
    }
  }
});

test('failures retrying cannot fix wait permanentFailureDelayMs, whatever the attempt', () => {
  const permanent: { name: string; error: unknown }[] = [
    { name: 'authentication refused', error: new AuthenticationError('n1', 'core') },
    { name: 'host key mismatch', error: new HostKeyMismatchError('n1', ['SHA256:a'], 'SHA256:b') },
    { name: 'host key unknown', error: new HostKeyUnknownError('n1', '[198.18.0.11]:22', 'SHA256:b') },
    { name: 'host key revoked', error: new HostKeyRevokedError('n1', 'SHA256:b') },
    { name: 'known_hosts unusable', error: new KnownHostsError('uses @cert-authority') },
    { name: 'private key unusable', error: new KeyError('bad passphrase') },
  ];
  for (const c of permanent) {
    for (const attempt of [1, 2, 10]) {
      assert.equal(exponentialBackoff({}, HIGH)(attempt, c.error), 300_000, `${c.name}, attempt ${attempt}`);
      assert.equal(exponentialBackoff({ permanentFailureDelayMs: 60_000 }, LOW)(attempt, c.error), 60_000, `${c.name}, custom`);
    }
  }
  const transient: { name: string; error: unknown }[] = [
    { name: 'connect refused', error: TRANSIENT },
    { name: 'handshake dropped', error: new HandshakeError('n1', 'connection reset') },
    { name: 'tunnel closed', error: new TunnelClosedError('n1', 'keepalive timeout') },
    { name: 'plain Error', error: new Error('ECONNRESET') },
    { name: 'no error', error: undefined },
    // Only the class counts, not a look-alike code.
    { name: 'ERR_AUTH look-alike', error: Object.assign(new Error('auth'), { code: 'ERR_AUTH' }) },
  ];
  for (const c of transient) assert.equal(exponentialBackoff({}, MID)(1, c.error), 1000, c.name);
});

test('custom options', () => {
  const cases: { name: string; options: Parameters<typeof exponentialBackoff>[0]; want: number[] }[] = [
    { name: 'initial 100, ×3, cap 2000', options: { initialDelayMs: 100, multiplier: 3, maxDelayMs: 2000 }, want: [100, 300, 900, 2000, 2000] },
    { name: 'multiplier 1 is constant', options: { initialDelayMs: 250, multiplier: 1 }, want: [250, 250, 250, 250, 250] },
    { name: 'multiplier 1.5', options: { initialDelayMs: 1000, multiplier: 1.5 }, want: [1000, 1500, 2250, 3375, 5063] },
    { name: 'cap below initial', options: { initialDelayMs: 5000, maxDelayMs: 1000 }, want: [1000, 1000, 1000, 1000, 1000] },
    // Only the given fields change; the rest keep their defaults.
    { name: 'only maxDelayMs', options: { maxDelayMs: 5000 }, want: [1000, 2000, 4000, 5000, 5000] },
  ];
  for (const c of cases) {
    const policy = exponentialBackoff(c.options, MID);
    assert.deepEqual([1, 2, 3, 4, 5].map((attempt) => policy(attempt, TRANSIENT)), c.want, c.name);
  }
  // Options are read at creation: mutating them afterwards changes nothing.
  const options = { initialDelayMs: 100 };
  const policy = exponentialBackoff(options, MID);
  options.initialDelayMs = 9999;
  assert.equal(policy(1, TRANSIENT), 100);
});
