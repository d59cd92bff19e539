import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Socks5Negotiation, type NegotiationOutcome } from '../../src/frontends/socks5-negotiation.js';
import { Socks5Credentials } from '../../src/frontends/socks5-auth.js';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const NO_AUTH_GREETING = b(5, 1, 0);
const CONNECT_POD = b(5, 1, 0, 1, 198, 19, 1, 7, 0x1f, 0x90);

/** Feeds `input` in pieces of `size` bytes; returns all output and the final outcome. */
function run(negotiation: Socks5Negotiation, input: Buffer, size = 1): { output: Buffer; outcome: NegotiationOutcome } {
  const output: Buffer[] = [];
  let outcome: NegotiationOutcome = { state: 'pending' };
  for (let at = 0; at < input.length && outcome.state === 'pending'; at += size) {
    const step = negotiation.feed(input.subarray(at, at + size));
    output.push(...step.output);
    outcome = step.outcome;
  }
  return { output: Buffer.concat(output), outcome };
}

const auth = (user: string, password: string): Buffer =>
  Buffer.concat([b(1, Buffer.byteLength(user)), Buffer.from(user), b(Buffer.byteLength(password)), Buffer.from(password)]);

const users = new Socks5Credentials(new Map([['alice', 'wonderland']]));
const withAuth = (): Socks5Negotiation => new Socks5Negotiation({ authenticate: (u, p) => users.verify(u, p) });

test('no auth: any split of greeting + request + payload gives the same result', () => {
  const input = Buffer.concat([NO_AUTH_GREETING, CONNECT_POD, Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
  for (const size of [1, 2, 3, 7, input.length]) {
    const { output, outcome } = run(new Socks5Negotiation(), input, size);
    assert.deepEqual(output, b(5, 0), `size ${size}`);
    assert.equal(outcome.state, 'connect');
    assert.ok(outcome.state === 'connect');
    assert.deepEqual(outcome.request, { host: '198.19.1.7', port: 8080, atyp: 1 });
    // Byte by byte the request completes before the payload arrives; in bigger pieces the payload comes with it.
    const rest = outcome.rest.toString();
    assert.ok('GET / HTTP/1.1\r\n\r\n'.startsWith(rest), `size ${size}: rest ${JSON.stringify(rest)}`);
    if (size === input.length) assert.equal(rest, 'GET / HTTP/1.1\r\n\r\n');
  }
});

test('no auth configured: a client offering only username/password gets 0xFF', () => {
  const { output, outcome } = run(new Socks5Negotiation(), b(5, 1, 2));
  assert.deepEqual(output, b(5, 0xff));
  assert.equal(outcome.state, 'failed');
});

test('auth configured: no-auth is not acceptable', () => {
  const { output, outcome } = run(withAuth(), b(5, 1, 0), 1);
  assert.deepEqual(output, b(5, 0xff));
  assert.deepEqual(outcome, { state: 'failed', reason: 'no acceptable auth method: username/password needed, client offered 0x00' });
  assert.equal(run(withAuth(), b(5, 0)).outcome.state, 'failed');
});

test('auth configured: right password connects, byte by byte', () => {
  const input = Buffer.concat([b(5, 2, 0, 2), auth('alice', 'wonderland'), CONNECT_POD]);
  const { output, outcome } = run(withAuth(), input);
  assert.deepEqual(output, b(5, 2, 1, 0));
  assert.equal(outcome.state, 'connect');
  assert.equal((outcome as { username?: string }).username, 'alice');
});

test('auth configured: wrong password, unknown user, empty fields all get status 1 and no request is read', () => {
  for (const creds of [auth('alice', 'wonderlanD'), auth('bob', 'wonderland'), auth('', ''), auth('alice', '')]) {
    const { output, outcome } = run(withAuth(), Buffer.concat([b(5, 1, 2), creds, CONNECT_POD]), 5);
    assert.deepEqual(output, b(5, 2, 1, 1));
    assert.equal(outcome.state, 'failed');
    assert.ok(outcome.state === 'failed' && !outcome.reason.includes('wonder'), 'the reason never holds a password');
  }
});

test('auth sub-negotiation with a wrong version is refused', () => {
  const { output, outcome } = run(withAuth(), b(5, 1, 2, 5, 1, 0));
  assert.deepEqual(output, b(5, 2, 1, 1));
  assert.equal(outcome.state, 'failed');
});

test('unsupported command and address type get their reply codes', () => {
  for (const [request, reply] of [
    [b(5, 2, 0, 1, 1, 2, 3, 4, 0, 80), 0x07],
    [b(5, 3, 0, 1, 0, 0, 0, 0, 0, 0), 0x07],
    [b(5, 1, 0, 0x09, 1, 2), 0x08],
  ] as const) {
    const { output, outcome } = run(new Socks5Negotiation(), Buffer.concat([NO_AUTH_GREETING, request]));
    assert.deepEqual(output, b(5, 0, 5, reply, 0, 1, 0, 0, 0, 0, 0, 0));
    assert.equal(outcome.state, 'failed');
  }
});

test('SOCKS4 gets a SOCKS4 rejection; HTTP and garbage get nothing', () => {
  const socks4 = run(new Socks5Negotiation(), b(4, 1, 0, 80, 127, 0, 0, 1, 0));
  assert.deepEqual(socks4.output, b(0, 0x5b, 0, 0, 0, 0, 0, 0));
  assert.equal(socks4.outcome.state, 'failed');
  for (const junk of [Buffer.from('GET / HTTP/1.1\r\n'), b(0xff, 0xff), b(0)]) {
    const r = run(new Socks5Negotiation(), junk, junk.length);
    assert.deepEqual(r.output, Buffer.alloc(0));
    assert.equal(r.outcome.state, 'failed');
  }
});

test('a finished negotiation takes no more input', () => {
  const n = new Socks5Negotiation();
  run(n, Buffer.concat([NO_AUTH_GREETING, CONNECT_POD]), 64);
  assert.throws(() => n.feed(b(1)), /already finished/);
});

test('credentials: only the configured password matches', () => {
  const creds = new Socks5Credentials(new Map([['u', 'p'], ['v', 'long password ✓']]));
  assert.equal(creds.verify('u', 'p'), true);
  assert.equal(creds.verify('v', 'long password ✓'), true);
  assert.equal(creds.verify('u', 'long password ✓'), false);
  assert.equal(creds.verify('w', 'p'), false);
  assert.equal(creds.verify('u', ''), false);
  assert.equal(creds.verify('U', 'p'), false);
});
