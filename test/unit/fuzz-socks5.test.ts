// Property tests of the SOCKS5 parsers and the negotiation state machine on random and mutated bytes: no
// throw, fast answers, never waiting for more bytes than a message can hold (bounded memory), and the
// same outcome and output however TCP splits the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Socks5Negotiation, type NegotiationStep } from '../../src/frontends/socks5-negotiation.js';
import { encodeReply, isFailure, parseCredentials, parseGreeting, parseRequest, type Parsed } from '../../src/frontends/socks5-protocol.js';
import { FUZZ_TEST, cutPoints, fuzzBytes, quickly, runs, splits } from './fuzz-inputs.js';

// The largest message of each kind: VER NMETHODS(255); VER ULEN(255) PLEN(255); VER CMD RSV ATYP LEN(255) PORT.
const MAX_GREETING = 2 + 255;
const MAX_CREDENTIALS = 3 + 255 + 255;
const MAX_REQUEST = 5 + 255 + 2;

const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const greeting = fc.array(fc.nat(255), { maxLength: 8 }).map((m) => Buffer.from([5, m.length, ...m]));
const text = (max: number) => fc.string({ maxLength: max }).map((s) => Buffer.from(s, 'utf8').subarray(0, 255));
const credentials = fc.tuple(text(40), text(40)).map(([u, p]) => Buffer.concat([Buffer.from([1, u.length]), u, Buffer.from([p.length]), p]));
const port = fc.integer({ min: 0, max: 65535 }).map((p) => Buffer.from([p >> 8, p & 0xff]));
const request = fc
  .tuple(
    fc.constantFrom(1, 1, 1, 2, 3),
    fc.oneof(
      bytes(4).filter((b) => b.length === 4).map((a) => Buffer.concat([Buffer.from([1]), a])),
      fc.domain().map((d) => Buffer.concat([Buffer.from([3, d.length]), Buffer.from(d)])),
      fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.concat([Buffer.from([4]), a])),
    ),
    port,
  )
  .map(([cmd, addr, p]) => Buffer.concat([Buffer.from([5, cmd, 0]), addr, p]));
/** A whole client conversation, as a client pipelining its messages would send it. */
const session = fc.oneof(
  fc.tuple(greeting, request).map((parts) => Buffer.concat(parts)),
  fc.tuple(greeting, credentials, request).map((parts) => Buffer.concat(parts)),
);

function checkParsed(parsed: Parsed<unknown>, buf: Buffer, max: number): void {
  if (parsed === undefined) {
    assert.ok(buf.length < max, `waits for more after ${buf.length} bytes`);
  } else if (isFailure(parsed)) {
    assert.equal(typeof parsed.failure, 'string');
    if (parsed.reply !== undefined) assert.ok(Number.isInteger(parsed.reply) && parsed.reply >= 0 && parsed.reply <= 8);
  } else {
    assert.ok(parsed.consumed >= 2 && parsed.consumed <= buf.length && parsed.consumed <= max);
  }
}

test('message parsers: any bytes give a result, a failure or "need more", and never need more than a message holds', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fuzzBytes(fc.oneof(greeting, credentials, request, session), 600), (buf) => {
      checkParsed(quickly('parseGreeting', () => parseGreeting(buf)), buf, MAX_GREETING);
      checkParsed(quickly('parseCredentials', () => parseCredentials(buf)), buf, MAX_CREDENTIALS);
      const req = quickly('parseRequest', () => parseRequest(buf));
      checkParsed(req, buf, MAX_REQUEST);
      if (req !== undefined && !isFailure(req)) {
        assert.ok(req.value.port >= 0 && req.value.port <= 65535);
        assert.equal(typeof req.value.host, 'string');
      }
    }),
    { numRuns: runs(10_000) },
  );
});

/** Feeds chunks until an outcome other than pending; returns every byte written and that outcome. */
function negotiate(chunks: Buffer[], withAuth: boolean): { output: Buffer; outcome: NegotiationStep['outcome']; fed: number } {
  const n = new Socks5Negotiation(withAuth ? { authenticate: (u, p) => u === 'alice' && p === 'secret' } : {});
  const out: Buffer[] = [];
  let fed = 0;
  for (const chunk of chunks) {
    fed += chunk.length;
    const step = quickly('feed', () => n.feed(chunk));
    out.push(...step.output);
    if (step.outcome.state !== 'pending') {
      assert.throws(() => n.feed(Buffer.from([5])), /already finished/, 'input after the end is a programming error');
      return { output: Buffer.concat(out), outcome: step.outcome, fed };
    }
  }
  return { output: Buffer.concat(out), outcome: { state: 'pending' }, fed };
}

test('negotiation: same outcome and bytes for any split; pending only while a message could still be incomplete', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fuzzBytes(session, 600), cutPoints, fc.boolean(), (buf, cuts, withAuth) => {
      const whole = negotiate([buf], withAuth);
      const split = negotiate(splits(buf, cuts), withAuth);
      // Early data after the request is whatever came in the request's own chunk; the rest stays in the socket.
      const { rest: splitRest, ...splitOutcome } = split.outcome as { rest?: Buffer };
      const { rest: wholeRest, ...wholeOutcome } = whole.outcome as { rest?: Buffer };
      assert.deepEqual(splitOutcome, wholeOutcome);
      if (splitRest && wholeRest) assert.ok(wholeRest.subarray(0, splitRest.length).equals(splitRest));
      assert.ok(split.output.equals(whole.output), 'the same bytes are written back');
      if (whole.outcome.state === 'pending') {
        // Each phase holds at most one incomplete message: bounded, however much garbage was sent.
        assert.ok(buf.length < MAX_GREETING + MAX_CREDENTIALS + MAX_REQUEST, `pending after ${buf.length} bytes`);
      }
      if (whole.outcome.state === 'connect') {
        assert.ok(whole.output.length >= 2, 'a method was selected before connecting');
        assert.ok(whole.outcome.request.port >= 0 && whole.outcome.request.port <= 65535);
      }
    }),
    { numRuns: runs(5000) },
  );
});

test('well-formed conversations reach "connect" with exactly the request sent, and the rest kept', FUZZ_TEST, () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
  fc.assert(
    fc.property(ipv4, fc.integer({ min: 1, max: 65535 }), fc.uint8Array({ maxLength: 64 }), cutPoints, (ip, p, rest, cuts) => {
      const buf = Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 1, ...ip, p >> 8, p & 0xff]), rest]);
      const { outcome, output } = negotiate(splits(buf, cuts), false);
      assert.equal(outcome.state, 'connect');
      if (outcome.state !== 'connect') return;
      assert.deepEqual(outcome.request, { host: ip.join('.'), port: p, atyp: 1 });
      // Bytes after the request are the client's early data: kept only when they came with the request's chunk.
      assert.ok(Buffer.from(rest).subarray(0, outcome.rest.length).equals(outcome.rest));
      assert.ok(output.equals(Buffer.from([5, 0])));
      assert.equal(encodeReply(0).length, 10);
    }),
    { numRuns: runs(3000) },
  );
});
