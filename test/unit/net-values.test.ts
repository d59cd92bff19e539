// The value rules of src/net: edge cases as tables, and property tests against ipaddr.js where it applies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { isIp, normalizeIp, stripBrackets } from '../../src/net/address.js';
import { normalizeCidr, parseCidr } from '../../src/net/cidr.js';
import { isDns1123Subdomain, isHostName, normalizeHostName } from '../../src/net/hostname.js';
import { isLoopbackHost } from '../../src/net/loopback.js';
import { isPort, isPortOrZero, portDigits } from '../../src/net/port.js';
import { parsePortRange } from '../../src/net/port-range.js';

const RUNS = { numRuns: 300 };
const bits = (max: number) => fc.integer({ min: 0, max });

describe('address', () => {
  test('edge cases', () => {
    const cases: [string, string | undefined][] = [
      ['10.0.0.1', '10.0.0.1'],
      ['FD00::0:1', 'fd00::1'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::FFFF:a00:1', '10.0.0.1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['10.1', undefined],
      ['0x0a.0.0.1', undefined],
      ['010.0.0.1', undefined],
      ['10.0.0.256', undefined],
      ['[::1]', undefined],
      [' 10.0.0.1', undefined],
      ['n1', undefined],
      ['', undefined],
    ];
    for (const [text, want] of cases) assert.equal(normalizeIp(text), want, text);
    assert.equal(stripBrackets('[fd00::1]'), 'fd00::1');
    assert.equal(stripBrackets('[10.0.0.1]'), '[10.0.0.1]', 'only IPv6 is bracketed');
    assert.equal(stripBrackets('[localhost]'), '[localhost]');
  });

  test('IPv4 dotted quads read as ipaddr.js reads them', () => {
    fc.assert(fc.property(fc.ipV4(), (ip) => normalizeIp(ip) === ipaddr.parse(ip).toString()), RUNS);
  });

  test('IPv6 reads as ipaddr.js reads it, IPv4-mapped unwrapped', () => {
    fc.assert(fc.property(fc.ipV6(), (ip) => normalizeIp(ip) === ipaddr.process(ip).toString()), RUNS);
  });

  test('the short and hex IPv4 forms ipaddr.js also takes are not addresses', () => {
    fc.assert(
      fc.property(fc.ipV4Extended(), (ip) => isIp(ip) === ipaddr.IPv4.isValidFourPartDecimal(ip)),
      RUNS,
    );
  });
});

describe('cidr', () => {
  test('agrees with ipaddr.js on membership, and its text is canonical', () => {
    const v4 = fc.tuple(fc.ipV4(), bits(32), fc.ipV4());
    const v6 = fc.tuple(fc.ipV6(), bits(128), fc.ipV6()).filter(([net]) => ipaddr.parse(net).kind() === 'ipv6' && !ipaddr.IPv6.parse(net).isIPv4MappedAddress());
    fc.assert(
      fc.property(fc.oneof(v4, v6), ([net, n, ip]) => {
        const block = parseCidr(`${net}/${n}`);
        assert.ok(block);
        const network = ipaddr.parse(net);
        assert.equal(block.text, `${network.toString()}/${n}`);
        const addr = ipaddr.process(ip);
        assert.equal(block.contains(ip), addr.kind() === network.kind() && addr.match(network, n));
      }),
      RUNS,
    );
  });

  test('a prefix longer than the family allows is refused', () => {
    fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 33, max: 999 }), (ip, n) => parseCidr(`${ip}/${n}`) === undefined), RUNS);
  });

  test('normalizeCidr', () => {
    assert.equal(normalizeCidr('FD00:10:244:1:0::/64'), 'fd00:10:244:1::/64');
    assert.equal(normalizeCidr('198.19.1.0/24'), '198.19.1.0/24');
    assert.equal(normalizeCidr('::ffff:198.19.1.0/120'), undefined);
    assert.equal(normalizeCidr(24), undefined);
  });
});

describe('loopback', () => {
  test('edge cases', () => {
    const loopback = ['127.0.0.1', '127.0.1.5', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '[0:0:0:0:0:0:0:1]', 'localhost', 'LOCALHOST', 'LocalHost', '::ffff:127.0.0.1', '[::ffff:127.0.0.1]', '::ffff:7f00:1'];
    const not = ['0.0.0.0', '::', '[::]', '10.0.0.1', '198.18.0.1', '::ffff:10.0.0.1', '127.1', '[127.0.0.1]', 'localhost.', 'localhost.localdomain', 'localhost.example.com', 'example.com', '[localhost]', ''];
    for (const host of loopback) assert.equal(isLoopbackHost(host), true, host);
    for (const host of not) assert.equal(isLoopbackHost(host), false, host);
  });

  test('agrees with ipaddr.js range(), plain, bracketed and IPv4-mapped', () => {
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        const want = ipaddr.parse(ip).range() === 'loopback';
        return isLoopbackHost(ip) === want && isLoopbackHost(`::ffff:${ip}`) === want && isLoopbackHost(`[::ffff:${ip}]`) === want;
      }),
      RUNS,
    );
    fc.assert(fc.property(fc.ipV6(), (ip) => isLoopbackHost(`[${ip}]`) === (ipaddr.process(ip).range() === 'loopback')), RUNS);
  });
});

describe('port', () => {
  test('a port is a whole number from 1 to 65535; 0 only where it means "any"', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.double()), (n) => {
        const inRange = Number.isInteger(n) && n >= 1 && n <= 65535;
        return isPort(n) === inRange && isPortOrZero(n) === (inRange || n === 0);
      }),
      RUNS,
    );
    for (const v of ['443', 443n, null, undefined, NaN, Infinity]) assert.equal(isPort(v), false, String(v));
  });

  test('digits only', () => {
    assert.equal(portDigits('443'), 443);
    assert.equal(portDigits('00443'), 443);
    for (const text of ['0x1bb', '1e3', ' 443', '443 ', '+443', '', '123456']) assert.equal(portDigits(text), undefined, text);
  });

  test('port ranges match a plain model', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 70_000 }), fc.integer({ min: 0, max: 70_000 }), (from, to) => {
        const want = isPort(from) && isPort(to) && from <= to ? { from, to } : undefined;
        assert.deepEqual(parsePortRange(`${from}-${to}`), want);
        assert.deepEqual(parsePortRange(String(from)), isPort(from) ? { from, to: from } : undefined);
      }),
      RUNS,
    );
    for (const spec of ['8000-', '-8000', '1-2-3', '80 - 81', 443.5, [443]]) assert.equal(parsePortRange(spec), undefined, String(spec));
  });
});

describe('hostname', () => {
  test('edge cases', () => {
    const names = ['n1', 'Node-1.Example.com', 'node-1.', 'a'.repeat(63), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`, 'x1.io'];
    const not = ['', '.', '-a', 'a-', 'a..b', 'a_b', 'a'.repeat(64), `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(62)}`, '10.0.0.256', '10', 'node.10', 'n1..', 'fd00::1', '[::1]'];
    for (const name of names) assert.equal(isHostName(name), true, name);
    for (const name of not) assert.equal(isHostName(name), false, name);
    assert.equal(normalizeHostName('Node-1.Example.COM.'), 'node-1.example.com');
  });

  test('domain names are host names, IPv4 literals never', () => {
    fc.assert(fc.property(fc.domain(), (name) => isHostName(name) && isHostName(name.toUpperCase())), RUNS);
    fc.assert(fc.property(fc.ipV4(), (ip) => !isHostName(ip)), RUNS);
  });

  test('Kubernetes DNS-1123 subdomains: lower-case, and an IP-like name is one', () => {
    for (const name of ['n1', 'ip-10-0-0-1.ec2.internal', '10.0.0.1', 'a'.repeat(253)]) assert.equal(isDns1123Subdomain(name), true, name);
    for (const name of ['N1', 'a_b', '-a', 'a.', 'a'.repeat(254), '']) assert.equal(isDns1123Subdomain(name), false, name);
  });
});
