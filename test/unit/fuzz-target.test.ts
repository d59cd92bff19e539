// Property tests of target parsing: whatever a caller passes (strings from a proxy request line or a
// SOCKS name, or any JavaScript value from library users), the answer is a parsed target with a real
// port, or an InvalidTargetError; never another exception, never slow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InvalidTargetError } from '../../src/errors.js';
import { parseTarget, type DialTarget, type ParsedTarget } from '../../src/dialer/target.js';
import { FUZZ_TEST, fuzzBytes, quickly, runs } from './fuzz-inputs.js';

const port = fc.integer({ min: 1, max: 65535 });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const samples = fc.oneof(
  fc.tuple(ipv4, port).map(([h, p]) => `${h}:${p}`),
  fc.tuple(fc.ipV6(), port).map(([h, p]) => `[${h}]:${p}`),
  fc.tuple(fc.domain(), port).map(([h, p]) => `${h}:${p}`),
  fc.constantFrom('n1:10250', '198.19.1.7:8080', '[fd00::7]:443', 'node-a.internal.:22', ' 10.0.0.1:80 '),
);

/** Parses, and checks that the result is one of the two allowed outcomes. */
function outcome(target: unknown): ParsedTarget | InvalidTargetError {
  try {
    const parsed = quickly('parseTarget', () => parseTarget(target as DialTarget));
    if (parsed.kind !== 'kubelet') {
      assert.ok(Number.isInteger(parsed.port) && parsed.port >= 1 && parsed.port <= 65535, `port ${parsed.port}`);
    }
    assert.equal(typeof parsed.text, 'string');
    return parsed;
  } catch (err) {
    assert.ok(err instanceof InvalidTargetError, `threw ${String(err)}`);
    assert.equal(err.code, 'ERR_INVALID_TARGET');
    return err;
  }
}

test('any string: a target with a valid port, or InvalidTargetError', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fc.oneof(fuzzBytes(samples.map((s) => Buffer.from(s)), 300).map((b) => b.toString('latin1')), fc.string(), samples), (text) => {
      const result = outcome(text);
      if (!(result instanceof InvalidTargetError) && result.kind === 'address') {
        assert.ok(result.host !== '' && !/\s/.test(result.host), `host ${JSON.stringify(result.host)}`);
      }
    }),
    { numRuns: runs(10_000) },
  );
});

test('any JavaScript value (objects, arrays, null prototypes, getters aside): a target or InvalidTargetError', FUZZ_TEST, () => {
  const value = fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true, withTypedArray: true, withDate: true, withMap: true, withSet: true });
  const shaped = fc.record({
    kind: fc.oneof(fc.constantFrom('kubelet', 'node', 'address'), value),
    node: value,
    host: fc.oneof(fc.string(), value),
    port: fc.oneof(port, value),
  }, { requiredKeys: ['kind'] });
  fc.assert(fc.property(fc.oneof(value, shaped), (target) => void outcome(target)), { numRuns: runs(5000) });
});

test('well-formed host:port strings round-trip', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fc.oneof(ipv4, fc.ipV6(), fc.domain()), port, (host, p) => {
      const text = host.includes(':') ? `[${host}]:${p}` : `${host}:${p}`;
      const parsed = parseTarget(text);
      assert.equal(parsed.kind, 'address');
      if (parsed.kind !== 'address') return;
      assert.equal(parsed.port, p);
      assert.equal(parsed.text, text);
      // Names are compared lower-case; IPv6 comes back in its canonical form, which parses to itself.
      const again = parseTarget(parsed.host.includes(':') ? `[${parsed.host}]:${p}` : `${parsed.host}:${p}`);
      assert.equal(again.kind === 'address' ? again.host : undefined, parsed.host);
    }),
    { numRuns: runs(5000) },
  );
});
