import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeReply,
  formatIpv6,
  parseCredentials,
  parseGreeting,
  parseRequest,
  type Parsed,
} from '../../src/frontends/socks5-protocol.js';

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const port = (p: number): number[] => [p >> 8, p & 0xff];

/** Every strict prefix must parse as "need more"; the whole must give `want`. */
function parsesIncrementally<T>(parse: (buf: Buffer) => Parsed<T>, bytes: Buffer, want: Parsed<T>): void {
  for (let n = 0; n < bytes.length; n++) assert.equal(parse(bytes.subarray(0, n)), undefined, `prefix of ${n} bytes`);
  assert.deepEqual(parse(bytes), want);
}

test('greeting: methods, prefixes need more, trailing bytes are not consumed', () => {
  parsesIncrementally(parseGreeting, b(5, 2, 0, 2), { value: { methods: [0, 2] }, consumed: 4 });
  assert.deepEqual(parseGreeting(b(5, 1, 0, 5, 1)), { value: { methods: [0] }, consumed: 3 });
  assert.deepEqual(parseGreeting(b(5, 0)), { value: { methods: [] }, consumed: 2 });
});

test('greeting: wrong versions are named after the client they look like', () => {
  assert.deepEqual(parseGreeting(b(4, 1, 0, 80)), { failure: 'SOCKS4 client (only SOCKS5 is served)' });
  assert.deepEqual(parseGreeting(Buffer.from('GET / HTTP/1.1\r\n')), { failure: 'not SOCKS (looks like text, e.g. HTTP)' });
  assert.deepEqual(parseGreeting(Buffer.from('CONNECT')), { failure: 'not SOCKS (looks like text, e.g. HTTP)' });
  assert.deepEqual(parseGreeting(b(0)), { failure: 'version 0 (expected 5)' });
});

test('credentials (RFC 1929): byte by byte, UTF-8, empty fields, bad version', () => {
  const user = Buffer.from('ålice');
  const pass = Buffer.from('s3cret:x');
  const bytes = Buffer.concat([b(1, user.length), user, b(pass.length), pass]);
  parsesIncrementally(parseCredentials, bytes, { value: { username: 'ålice', password: 's3cret:x' }, consumed: bytes.length });
  assert.deepEqual(parseCredentials(b(1, 0, 0)), { value: { username: '', password: '' }, consumed: 3 });
  assert.deepEqual(parseCredentials(b(5, 1, 0x61, 1, 0x62)), { failure: 'username/password sub-negotiation version 5 (expected 1)' });
});

test('request: IPv4, domain name and IPv6, each fed byte by byte', () => {
  parsesIncrementally(parseRequest, b(5, 1, 0, 1, 198, 19, 1, 7, ...port(8080)), {
    value: { host: '198.19.1.7', port: 8080, atyp: 1 },
    consumed: 10,
  });
  const name = Buffer.from('n1.sim.internal');
  const domain = Buffer.concat([b(5, 1, 0, 3, name.length), name, b(...port(9100))]);
  parsesIncrementally(parseRequest, domain, { value: { host: 'n1.sim.internal', port: 9100, atyp: 3 }, consumed: domain.length });
  const v6 = b(5, 1, 0, 4, 0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, ...port(443));
  parsesIncrementally(parseRequest, v6, { value: { host: 'fd00:1::7', port: 443, atyp: 4 }, consumed: 22 });
  // Pipelined payload behind the request stays for the destination.
  assert.deepEqual(parseRequest(Buffer.concat([b(5, 1, 0, 1, 127, 0, 0, 1, 0, 80), Buffer.from('GET /')])), {
    value: { host: '127.0.0.1', port: 80, atyp: 1 },
    consumed: 10,
  });
});

test('request: unsupported commands and address types are answered from the header alone', () => {
  assert.deepEqual(parseRequest(b(5, 2, 0, 1)), { failure: 'command 2 is not supported (only CONNECT)', reply: 0x07 });
  assert.deepEqual(parseRequest(b(5, 3, 0, 1)), { failure: 'command 3 is not supported (only CONNECT)', reply: 0x07 });
  assert.deepEqual(parseRequest(b(5, 1, 0, 9)), { failure: 'address type 9 is not supported', reply: 0x08 });
  assert.deepEqual(parseRequest(b(5, 1, 0, 0)), { failure: 'address type 0 is not supported', reply: 0x08 });
  assert.deepEqual(parseRequest(b(4, 1, 0, 1)), { failure: 'request version 4 (expected 5)', reply: 0x01 });
  assert.equal(parseRequest(b(5, 1, 0)), undefined);
});

test('IPv6 text is compressed and lower-case (RFC 5952)', () => {
  const v6 = (...groups: number[]): Buffer => {
    const buf = Buffer.alloc(16);
    groups.forEach((g, i) => buf.writeUInt16BE(g, i * 2));
    return buf;
  };
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0, 0, 0)), '::');
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0, 0, 1)), '::1');
  assert.equal(formatIpv6(v6(0xfd00, 0, 0, 0, 0, 0, 0, 0)), 'fd00::');
  assert.equal(formatIpv6(v6(0x2001, 0xdb8, 0, 1, 0, 0, 0, 1)), '2001:db8:0:1::1');
  assert.equal(formatIpv6(v6(0x2001, 0xdb8, 0, 0, 1, 0, 0, 1)), '2001:db8::1:0:0:1');
  assert.equal(formatIpv6(v6(1, 0, 2, 3, 4, 5, 6, 0xABCD)), '1:0:2:3:4:5:6:abcd');
  assert.equal(formatIpv6(v6(0, 0, 0, 0, 0, 0xffff, 0xc612, 0x000b)), '::ffff:c612:b');
});

test('replies carry BND 0.0.0.0:0', () => {
  assert.deepEqual(encodeReply(0x00), b(5, 0, 0, 1, 0, 0, 0, 0, 0, 0));
  assert.deepEqual(encodeReply(0x05), b(5, 5, 0, 1, 0, 0, 0, 0, 0, 0));
});
