import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigError, ConnectionLimitError } from '../../src/errors.js';
import { mapDialFailure, SOCKS_REPLY } from '../../src/frontends/failure-mapping.js';
import { CONNECTION_LIMIT_DEFAULTS, ConnectionLimiter, REFUSAL_HEADROOM, type Admission } from '../../src/frontends/limits-connections.js';

const limiter = (maxConnections: number, maxConnectionsPerClient: number) =>
  new ConnectionLimiter(() => 'connect-tcp 127.0.0.1:8131', { maxConnections, maxConnectionsPerClient });

test('per-client and total limits refuse with ERR_CONNECTION_LIMIT, mapped to 503 / SOCKS general failure', () => {
  const l = limiter(3, 2);
  const a1 = l.admit('10.0.0.1');
  const a2 = l.admit('10.0.0.1');
  const a3 = l.admit('10.0.0.1');
  assert.ok(a1.ok && a2.ok);
  assert.ok(!a3.ok);
  assert.ok(a3.error instanceof ConnectionLimitError);
  assert.equal(a3.error.scope, 'client');
  assert.equal(a3.error.message, 'connect-tcp 127.0.0.1:8131: 2 connections already open from 10.0.0.1 (maxConnectionsPerClient)');
  assert.ok(l.admit('10.0.0.2').ok);
  const full = l.admit(undefined);
  assert.ok(!full.ok && full.error.scope === 'total');
  assert.deepEqual(mapDialFailure(full.error), { httpStatus: 503, socksReply: SOCKS_REPLY.GENERAL_FAILURE, reason: 'ERR_CONNECTION_LIMIT' });
  a1.release();
  a1.release(); // idempotent: a double release must not free a second place
  assert.equal(l.open, 2);
  assert.ok(l.admit(undefined).ok);
  assert.ok(!l.admit('10.0.0.3').ok);
  assert.equal(l.socketCeiling, 3 + REFUSAL_HEADROOM);
});

test('Unix-socket clients (no address) count only against the total', () => {
  const l = limiter(5, 1);
  for (let i = 0; i < 5; i++) assert.ok(l.admit(undefined).ok);
  assert.ok(!l.admit(undefined).ok);
});

test('any sequence of admits and releases keeps the counts exact and never exceeds a limit', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.oneof(fc.constantFrom('a', 'b', 'c', undefined).map((c) => ({ admit: c })), fc.nat(20).map((i) => ({ release: i }))), { maxLength: 60 }),
      (total, perClient, ops) => {
        const l = limiter(total, perClient);
        const held: Array<{ client: string | undefined; admission: Extract<Admission, { ok: true }> }> = [];
        for (const op of ops) {
          if ('admit' in op) {
            const a = l.admit(op.admit);
            const fromClient = held.filter((h) => h.client === op.admit).length;
            const expectOk = held.length < total && (op.admit === undefined || fromClient < perClient);
            assert.equal(a.ok, expectOk);
            if (a.ok) held.push({ client: op.admit, admission: a });
          } else if (held.length > 0) {
            const [h] = held.splice(op.release % held.length, 1);
            h!.admission.release();
          }
          assert.equal(l.open, held.length);
        }
      },
    ),
    { numRuns: 2000 },
  );
});

test('limits must be whole numbers >= 1', () => {
  // The option's own name: a front end's constructor does not know whether the value came from limits: in a file.
  assert.throws(() => limiter(0, 1), (err: unknown) => err instanceof ConfigError && err.path === 'maxConnections' && err.message === 'maxConnections: 0 is not a whole number >= 1');
  assert.throws(() => limiter(1, 1.5), (err: unknown) => err instanceof ConfigError && err.path === 'maxConnectionsPerClient');
});

test('a flood of refusals is logged once per period with its count', () => {
  const l = limiter(1, 1);
  assert.equal(l.refusalToReport(1_000), 1);
  assert.equal(l.refusalToReport(2_000), undefined);
  assert.equal(l.refusalToReport(5_000), undefined);
  assert.equal(l.refusalToReport(11_000), 3);
});

test('setLimits: a lowered limit refuses the next client and keeps the admitted ones; absent fields return to the defaults', () => {
  const limiter = new ConnectionLimiter(() => 'connect-tcp 127.0.0.1:8131', { maxConnections: 3 });
  const a = limiter.admit('10.0.0.1');
  const b = limiter.admit('10.0.0.2');
  assert.ok(a.ok && b.ok);
  limiter.setLimits({ maxConnections: 1 });
  assert.equal(limiter.admit('10.0.0.3').ok, false);
  assert.equal(limiter.open, 2, 'admitted connections stay');
  limiter.setLimits({});
  assert.equal(limiter.maxConnections, CONNECTION_LIMIT_DEFAULTS.maxConnections);
  assert.equal(limiter.admit('10.0.0.3').ok, true);
});
