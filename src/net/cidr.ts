import ipaddr from 'ipaddr.js';

/**
 * An address as a number: IPv4 as a number, IPv6 as a bigint, so the two families never compare equal. A
 * caller that tests one address against many blocks (routing) parses it once into this.
 */
export type IpNumber = number | bigint;

/** A parsed CIDR block that can tell whether an address lies inside it. */
export interface Cidr {
  readonly text: string;
  /** The first and last address of the block, in its own family. */
  readonly first: IpNumber;
  readonly last: IpNumber;
  contains(ip: string): boolean;
  /** contains() for an address already turned into a number (ipNumber). */
  includes(ip: IpNumber): boolean;
}

/** Parses "198.19.1.0/24" or "fd00::/64"; returns undefined when it is not a CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  // ipaddr.parseCIDR takes short forms such as "10/8"; only a full address counts, as in parseIp.
  if (parseIp(text.slice(0, text.lastIndexOf('/'))) === undefined) return undefined;
  try {
    parsed = ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
  const [network, bits] = parsed;
  const { first, last } = blockRange(fromBytes(network.toByteArray()), bits);
  const includes = (ip: IpNumber): boolean => typeof ip === typeof first && ip >= first && ip <= last;
  return {
    text,
    first,
    last,
    includes,
    contains(ip: string): boolean {
      const n = ipNumber(ip);
      return n !== undefined && includes(n);
    },
  };
}

/** The number of an IP literal (as parseIp reads it: IPv4-mapped IPv6 is IPv4); undefined for anything else. */
export function ipNumber(text: string): IpNumber | undefined {
  const addr = parseIp(text);
  return addr && fromBytes(addr.toByteArray());
}

/** The block of `bits` leading bits around `address` (host bits in the address are ignored, as ipaddr.js matches). */
function blockRange(address: IpNumber, bits: number): { first: IpNumber; last: IpNumber } {
  if (typeof address === 'number') {
    const size = 2 ** (32 - bits);
    const first = Math.floor(address / size) * size;
    return { first, last: first + size - 1 };
  }
  const hostBits = BigInt(128 - bits);
  const first = (address >> hostBits) << hostBits;
  return { first, last: first | ((1n << hostBits) - 1n) };
}

function fromBytes(bytes: number[]): IpNumber {
  if (bytes.length === 4) return bytes.reduce((n, byte) => n * 256 + byte, 0);
  return bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/** Parses an IPv4 or IPv6 literal (IPv4-mapped IPv6 becomes IPv4); undefined when it is not one. */
export function parseIp(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  // ipaddr.isValid accepts forms like "10" or "0x0a.1"; only canonical dotted quads and IPv6 count here.
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.process(text);
}

export function isIp(text: string): boolean {
  return parseIp(text) !== undefined;
}

/** The canonical text of an IP (lower-case, compressed IPv6) so equal addresses compare equal. */
export function normalizeIp(text: string): string | undefined {
  return parseIp(text)?.toString();
}
