// Shared pieces of the fuzz properties: mutations of valid samples (byte flips, truncation, duplication,
// huge runs), and a check that a call returns quickly. Parsers are synchronous, so a call that never
// returns is caught by the test's own timeout; this catches the slow ones (quadratic blow-ups) too.
import assert from 'node:assert/strict';
import fc from 'fast-check';

/**
 * CPU time per call. Inputs stay under ~200 KB; a linear parser takes well under a millisecond on them, a
 * super-linear one (a backtracking pattern) seconds. CPU time, not wall time: other jobs sharing the cores
 * stretch the wall clock (367 ms was seen at load 12) but not the work done.
 */
export const QUICK_MS = 250;

/** Every fuzz test gets this timeout, so a hang fails the test instead of stalling the suite. */
export const FUZZ_TEST = { timeout: 60_000 } as const;

/** FUZZ_SCALE=50 npm run test:unit runs every property fifty times as long (for a deeper look now and then). */
export const runs = (n: number): number => Math.max(1, Math.round(n * Number(process.env.FUZZ_SCALE ?? 1)));

export function quickly<T>(what: string, call: () => T): T {
  const started = process.cpuUsage();
  const result = call();
  const used = process.cpuUsage(started);
  const ms = (used.user + used.system) / 1000;
  assert.ok(ms < QUICK_MS, `${what} took ${ms.toFixed(1)} ms of CPU`);
  return result;
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'duplicate'; at: number; length: number; times: number }
  | { kind: 'huge'; at: number; byte: number; length: number };

const at = fc.nat();
const mutation = (maxRun: number): fc.Arbitrary<Mutation> => fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at, byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at }),
  fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at, length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 1, max: 200 }) }),
  // Long runs of one byte: digits make huge numbers and lengths, letters long names, spaces and colons odd splits.
  fc.record({
    kind: fc.constant('huge' as const),
    at,
    byte: fc.constantFrom(0x30, 0x39, 0x41, 0x61, 0x20, 0x3a, 0x2c, 0x2a, 0x0a, 0xff, 0x00),
    length: fc.integer({ min: 256, max: maxRun }),
  }),
);

function apply(input: Buffer, m: Mutation): Buffer {
  const pos = input.length === 0 ? 0 : m.at % (input.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (input.length === 0) return input;
      const copy = Buffer.from(input);
      const i = m.at % input.length;
      copy[i] = (copy[i] as number) ^ (1 << m.bit);
      return copy;
    }
    case 'set': {
      if (input.length === 0) return input;
      const copy = Buffer.from(input);
      copy[m.at % input.length] = m.byte;
      return copy;
    }
    case 'truncate':
      return input.subarray(0, pos);
    case 'delete':
      return Buffer.concat([input.subarray(0, pos), input.subarray(pos + m.length)]);
    case 'insert':
      return Buffer.concat([input.subarray(0, pos), m.bytes, input.subarray(pos)]);
    case 'duplicate': {
      const slice = input.subarray(pos, pos + m.length);
      return Buffer.concat([input.subarray(0, pos), ...Array<Buffer>(m.times).fill(slice), input.subarray(pos)]);
    }
    case 'huge':
      return Buffer.concat([input.subarray(0, pos), Buffer.alloc(m.length, m.byte), input.subarray(pos)]);
  }
}

/** A valid sample with 1..4 mutations applied; `maxRun` bounds the long runs of one byte. */
export function mutated(samples: fc.Arbitrary<Buffer>, maxRun = 100_000): fc.Arbitrary<Buffer> {
  return fc.tuple(samples, fc.array(mutation(maxRun), { minLength: 1, maxLength: 4 })).map(([sample, ms]) => ms.reduce(apply, sample));
}

/** Random bytes (up to maxLength), mutated samples, and the samples themselves, in a useful mix. */
export function fuzzBytes(samples: fc.Arbitrary<Buffer>, maxLength = 2048, maxRun = 100_000): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength }).map((a) => Buffer.from(a)) },
    { weight: 5, arbitrary: mutated(samples, maxRun) },
    { weight: 1, arbitrary: samples },
  );
}

/** Splits a buffer into 1..8 chunks at arbitrary points, as TCP may deliver it. */
export function splits(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (buf.length === 0 ? 0 : c % (buf.length + 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    chunks.push(buf.subarray(from, p));
    from = p;
  }
  chunks.push(buf.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

export const cutPoints = fc.array(fc.nat(), { maxLength: 7 });
