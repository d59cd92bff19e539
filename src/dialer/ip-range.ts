import ipaddr from 'ipaddr.js';
import { parseIp, type Cidr } from '../net/cidr.js';

/**
 * An address as a number: IPv4 as a number, IPv6 as a bigint, so the two families never compare equal.
 * Routing parses a target's address once into this, then tests every CIDR with two comparisons instead
 * of parsing the address again per CIDR (Cidr.contains), which cost one ipaddr.js parse per node.
 */
export type IpNumber = number | bigint;

/** The first and last address of a CIDR block. */
export interface IpRange {
  readonly first: IpNumber;
  readonly last: IpNumber;
}

/** Ranges to test an address against, in order. */
export type IpRanges = readonly IpRange[];

/** The number of an IP literal (as parseIp reads it: IPv4-mapped IPv6 is IPv4); undefined for anything else. */
export function ipNumber(text: string): IpNumber | undefined {
  const addr = parseIp(text);
  return addr && fromBytes(addr.toByteArray());
}

/** The range a parsed CIDR covers; its family is the CIDR's own, as Cidr.contains compares them. */
export function ipRange(cidr: Cidr): IpRange {
  const [network, bits] = ipaddr.parseCIDR(cidr.text);
  const address = fromBytes(network.toByteArray());
  if (typeof address === 'number') {
    const size = 2 ** (32 - bits);
    const first = Math.floor(address / size) * size;
    return { first, last: first + size - 1 };
  }
  const hostBits = BigInt(128 - bits);
  const first = (address >> hostBits) << hostBits;
  return { first, last: first | ((1n << hostBits) - 1n) };
}

export function ipRanges(cidrs: readonly Cidr[]): IpRanges {
  return cidrs.map(ipRange);
}

export function inRange(ip: IpNumber, range: IpRange): boolean {
  return typeof ip === typeof range.first && ip >= range.first && ip <= range.last;
}

export function inAnyRange(ip: IpNumber, ranges: IpRanges): boolean {
  return ranges.some((range) => inRange(ip, range));
}

function fromBytes(bytes: number[]): IpNumber {
  if (bytes.length === 4) return bytes.reduce((n, byte) => n * 256 + byte, 0);
  return bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}
