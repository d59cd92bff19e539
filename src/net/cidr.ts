import ipaddr from 'ipaddr.js';

/** A parsed CIDR block that can tell whether an address lies inside it. */
export interface Cidr {
  readonly text: string;
  contains(ip: string): boolean;
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
  return {
    text,
    contains(ip: string): boolean {
      const addr = parseIp(ip);
      return addr !== undefined && addr.kind() === network.kind() && addr.match(network, bits);
    },
  };
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
