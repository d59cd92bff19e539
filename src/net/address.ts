/**
 * IP address literals: the one definition of what counts as an address and its canonical text. IPv4 is a
 * full dotted quad only ("10.1" or "0x0a.0.0.1" are not addresses here, though ipaddr.js would take them);
 * IPv4-mapped IPv6 ("::ffff:10.0.0.1") is read as the IPv4 address it carries, so both spellings of one
 * host compare equal.
 */
import ipaddr from 'ipaddr.js';

export type IpAddress = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * An address as a number: IPv4 as a number, IPv6 as a bigint, so the two families never compare equal. A
 * caller that tests one address against many blocks (routing) parses it once into this.
 */
export type IpNumber = number | bigint;

/** Parses an IPv4 or IPv6 literal (IPv4-mapped IPv6 becomes IPv4); undefined when it is not one. */
export function parseIp(text: string): IpAddress | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  if (!text.includes(':') && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.process(text);
}

export function isIp(text: string): boolean {
  return parseIp(text) !== undefined;
}

/** The canonical text of an IP (lower-case, compressed IPv6, mapped IPv4 unwrapped) so equal addresses compare equal. */
export function normalizeIp(text: string): string | undefined {
  return parseIp(text)?.toString();
}

/** The number of an IP literal (as parseIp reads it); undefined for anything else. */
export function ipNumber(text: string): IpNumber | undefined {
  const addr = parseIp(text);
  return addr && addressNumber(addr);
}

export function addressNumber(addr: IpAddress): IpNumber {
  const bytes = addr.toByteArray();
  if (bytes.length === 4) return bytes.reduce((n, byte) => n * 256 + byte, 0);
  return bytes.reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/**
 * "[fd00::1]" -> "fd00::1": URLs and host:port text bracket IPv6 literals. Only text with a colon inside is
 * unwrapped, so "[10.0.0.1]" or "[localhost]" stay what they are: not addresses.
 */
export function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') && host.includes(':') ? host.slice(1, -1) : host;
}

/** 0.0.0.0 or :: (any spelling): a listener on every address, which names no one host to dial. */
export function isUnspecifiedAddress(host: string): boolean {
  return parseIp(stripBrackets(host))?.range() === 'unspecified';
}
