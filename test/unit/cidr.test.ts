import { test } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { ipNumber, parseIp } from '../../src/net/address.js';
import { parseCidr, type Cidr } from '../../src/net/cidr.js';

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  assert.ok(parsed, `${text} is a CIDR`);
  return parsed;
}

/** Deterministic pseudo-random numbers (xorshift), so a failure reproduces. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('cidr: edges of IPv4 and IPv6 blocks, by text and by number', () => {
  const cases: { cidr: string; inside: string[]; outside: string[] }[] = [
    { cidr: '198.19.1.0/24', inside: ['198.19.1.0', '198.19.1.255'], outside: ['198.19.0.255', '198.19.2.0', 'fd00::1'] },
    // A network address with host bits set covers its whole block, as ipaddr.js matches it.
    { cidr: '10.1.2.3/8', inside: ['10.0.0.0', '10.255.255.255'], outside: ['9.255.255.255', '11.0.0.0'] },
    { cidr: '0.0.0.0/0', inside: ['0.0.0.0', '255.255.255.255', '::ffff:1.2.3.4'], outside: ['::1', '::'] },
    { cidr: '203.0.113.7/32', inside: ['203.0.113.7'], outside: ['203.0.113.6', '203.0.113.8'] },
    { cidr: 'fd00:1::/64', inside: ['fd00:1::', 'FD00:1:0:0:ffff:ffff:ffff:ffff'], outside: ['fd00:1:0:1::', 'fd00::ffff', '198.19.1.1'] },
    { cidr: '::/0', inside: ['::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], outside: ['10.0.0.1'] },
    { cidr: 'fd00::1/128', inside: ['fd00::1'], outside: ['fd00::', 'fd00::2'] },
  ];
  for (const c of cases) {
    const block = cidr(c.cidr);
    for (const ip of c.inside) assert.ok(block.contains(ip) && block.includes(ipNumber(ip)!), `${ip} in ${c.cidr}`);
    for (const ip of c.outside) assert.ok(!block.contains(ip) && !block.includes(ipNumber(ip)!), `${ip} not in ${c.cidr}`);
  }
  assert.equal(ipNumber('n1'), undefined);
  assert.equal(ipNumber('10.1'), undefined, 'only full dotted quads, as parseIp');
  assert.equal(cidr('10.96.0.0/12').contains('n1'), false);
});

test('cidr: what is not a CIDR', () => {
  // An IPv4-mapped block would match nothing (its addresses read as IPv4): refused, so the IPv4 block gets written.
  for (const text of ['::ffff:10.0.0.0/104', '10.0.0.0/33', 'fd00::/129', '10.0.0.0', '10/8', '10.0.0.0/08x', '10.0.0.0/0008', ' 10.0.0.0/8', 'n1/8', '']) {
    assert.equal(parseCidr(text), undefined, text);
  }
  assert.equal(cidr('FD00:1:0::/64').text, 'fd00:1::/64', 'canonical text');
});

/** The match as ipaddr.js makes it: same family, same leading bits. */
function ipaddrMatch(block: string, ip: string): boolean {
  const [network, bits] = ipaddr.parseCIDR(block);
  const addr = parseIp(ip);
  return addr !== undefined && addr.kind() === network.kind() && addr.match(network, bits);
}

test('cidr: agrees with ipaddr.js on random addresses near random blocks', () => {
  const next = random(0x5eed);
  const byte = () => Math.floor(next() * 256);
  const hex = () => Math.floor(next() * 0x10000).toString(16);
  for (let i = 0; i < 300; i++) {
    const v6 = next() < 0.5;
    const base = v6 ? Array.from({ length: 8 }, hex) : Array.from({ length: 4 }, byte);
    const block = cidr(`${base.join(v6 ? ':' : '.')}/${Math.floor(next() * (v6 ? 129 : 33))}`);
    for (let j = 0; j < 20; j++) {
      // Same leading parts as the block, the rest random: near its edges as often as inside.
      const keep = Math.floor(next() * base.length);
      const ip = base.map((part, k) => (k < keep ? part : v6 ? hex() : byte())).join(v6 ? ':' : '.');
      assert.equal(block.contains(ip), ipaddrMatch(block.text, ip), `${ip} in ${block.text}`);
    }
  }
});
