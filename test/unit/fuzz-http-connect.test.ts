// Property tests of the CONNECT head parser on random and mutated bytes: it never throws, answers fast,
// never asks for more bytes past maxHeaderBytes (bounded memory), and gives the same answer however TCP
// splits the bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConnectHead, type ConnectHead } from '../../src/frontends/http-connect-request.js';
import { FUZZ_TEST, cutPoints, fuzzBytes, quickly, runs, splits } from './fuzz-inputs.js';

const MAX = 8192;

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc.ipV6().map((ip) => `[${ip}]`);
const name = fc.domain();
const port = fc.integer({ min: 1, max: 65535 });
const authority = fc.tuple(fc.oneof(ipv4, ipv6, name), port).map(([h, p]) => `${h}:${p}`);
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/);
const headerValue = fc.stringMatching(/^[ -~]{0,40}$/);
const header = fc.tuple(headerName, headerValue).map(([n, v]) => `${n}: ${v}`);
const eol = fc.constantFrom('\r\n', '\n');

/** A well-formed CONNECT head as kube-apiserver, curl or any HTTP/1.x client could write it. */
const validHead = fc
  .record({ authority, version: fc.constantFrom('1.0', '1.1'), headers: fc.array(header, { maxLength: 8 }), eol })
  .map(({ authority: a, version, headers, eol: e }) => ({
    authority: a,
    text: `CONNECT ${a} HTTP/${version}${e}${headers.map((h) => h + e).join('')}${e}`,
  }));

const otherHeads = fc.constantFrom(
  'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
  'CONNECT 198.19.1.7:8080 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
  'CONNECT [fd00::1]:443 HTTP/1.1\r\n\r\n',
  'POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello',
  'CONNECT n1:10250 HTTP/1.1\r\nFolded: a\r\n b\r\n\r\n',
);
const samples = fc.oneof(validHead.map((h) => Buffer.from(h.text, 'latin1')), otherHeads.map((t) => Buffer.from(t, 'latin1')));
const inputs = fuzzBytes(samples);

/** What the session does with it: acts on the first answer that is not 'incomplete', chunk by chunk. */
function parseChunked(chunks: Buffer[]): ConnectHead {
  let received = Buffer.alloc(0);
  for (const chunk of chunks) {
    received = Buffer.concat([received, chunk]);
    const head = parseConnectHead(received, MAX);
    if (head.kind !== 'incomplete') return head;
  }
  return { kind: 'incomplete' };
}

const essence = (h: ConnectHead): unknown =>
  h.kind === 'connect' ? h : h.kind === 'rejected' ? { kind: h.kind, status: h.status } : h;

test('any bytes: a well-formed answer, quickly, and never "incomplete" past maxHeaderBytes', FUZZ_TEST, () => {
  fc.assert(
    fc.property(inputs, (buf) => {
      const head = quickly('parseConnectHead', () => parseConnectHead(buf, MAX));
      switch (head.kind) {
        case 'incomplete':
          assert.ok(buf.length <= MAX, `asked for more after ${buf.length} bytes`);
          break;
        case 'rejected':
          assert.ok([400, 405, 431].includes(head.status));
          assert.equal(typeof head.reason, 'string');
          break;
        case 'connect': {
          assert.ok(head.headBytes <= buf.length && head.headBytes <= MAX);
          const line = buf.toString('latin1', 0, buf.indexOf(0x0a)).replace(/\r$/, '');
          assert.equal(line.split(' ')[1], head.target, 'the target is the request line\'s');
          assert.match(line, /^CONNECT \S+ HTTP\/1\.[01]$/);
          assert.match(head.target, /:\d{1,5}$/);
          const port = Number(head.target.slice(head.target.lastIndexOf(':') + 1));
          assert.ok(port >= 1 && port <= 65535);
          break;
        }
        default:
          assert.fail(`unexpected result ${JSON.stringify(head)}`);
      }
    }),
    { numRuns: runs(10_000) },
  );
});

test('any split of the bytes gives the same answer as all at once', FUZZ_TEST, () => {
  fc.assert(
    fc.property(inputs, cutPoints, (buf, cuts) => {
      assert.deepEqual(essence(parseChunked(splits(buf, cuts))), essence(parseConnectHead(buf, MAX)));
    }),
    { numRuns: runs(3000) },
  );
});

test('every well-formed CONNECT head is accepted with its exact target and length, whatever follows it', FUZZ_TEST, () => {
  fc.assert(
    fc.property(validHead, fc.uint8Array({ maxLength: 256 }), cutPoints, (head, early, cuts) => {
      const bytes = Buffer.from(head.text, 'latin1');
      const whole = Buffer.concat([bytes, early]);
      const expected = { kind: 'connect', target: head.authority, headBytes: bytes.length };
      assert.deepEqual(parseConnectHead(whole, MAX), expected);
      assert.deepEqual(parseChunked(splits(whole, cuts)), expected);
      // Every strict prefix of the head is only a beginning.
      for (const cut of cuts) assert.deepEqual(parseConnectHead(bytes.subarray(0, cut % bytes.length), MAX), { kind: 'incomplete' });
    }),
    { numRuns: runs(3000) },
  );
});
