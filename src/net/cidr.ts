/** CIDR blocks: the one parser, for pod CIDRs, service CIDRs, policy rules and routing alike. */
import { addressNumber, ipNumber, parseIp, type IpNumber } from './address.js';

/** A parsed CIDR block that can tell whether an address lies inside it. */
export interface Cidr {
  /** Canonical text ("fd00:1::/64", "10.1.2.3/8": host bits are kept as written, like ipaddr.js). */
  readonly text: string;
  /** The first and last address of the block, in its own family. */
  readonly first: IpNumber;
  readonly last: IpNumber;
  contains(ip: string): boolean;
  /** contains() for an address already turned into a number (ipNumber). */
  includes(ip: IpNumber): boolean;
}

/**
 * Parses "198.19.1.0/24" or "fd00::/64"; undefined when it is not a CIDR. The address is a full literal as
 * parseIp reads it; an IPv4-mapped IPv6 block ("::ffff:10.0.0.0/104") is refused: its addresses read as
 * IPv4, so it would match nothing; write the IPv4 block instead.
 */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  const [, addressText = '', bitsText = ''] = match;
  const address = parseIp(addressText);
  if (!address || (address.kind() === 'ipv4' && addressText.includes(':'))) return undefined;
  const bits = Number(bitsText);
  if (bits > (address.kind() === 'ipv4' ? 32 : 128)) return undefined;
  const { first, last } = blockRange(addressNumber(address), bits);
  const includes = (ip: IpNumber): boolean => typeof ip === typeof first && ip >= first && ip <= last;
  return {
    text: `${address.toString()}/${bits}`,
    first,
    last,
    includes,
    contains(ip: string): boolean {
      const n = ipNumber(ip);
      return n !== undefined && includes(n);
    },
  };
}

export function isCidr(value: unknown): value is string {
  return typeof value === 'string' && parseCidr(value) !== undefined;
}

/** "FD00:1::0/64" -> "fd00:1::/64", so equal blocks compare equal; undefined when it is not a CIDR. */
export function normalizeCidr(value: unknown): string | undefined {
  return typeof value === 'string' ? parseCidr(value)?.text : undefined;
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
