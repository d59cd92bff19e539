import { parseIp } from '../net/address.js';

/**
 * The client half of SOCKS5 (RFC 1928) that we speak inside a reverse-tunnel channel: the node's agent
 * (OpenSSH `ssh -R <port>` without a destination, or ours) is the SOCKS5 server and connects from the node.
 * Only "no authentication" and CONNECT. The daemon's SOCKS5 front end (src/daemon/socks5-protocol.ts) is
 * the server half; the two share nothing but the RFC, so this side stays below the daemon layer.
 */

const VERSION = 0x05;
const NO_AUTH = 0x00;
const CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** Reply codes (RFC 1928 section 6) and their RFC wording. */
export const SOCKS5_REPLY_TEXT: Readonly<Record<number, string>> = {
  0x01: 'general SOCKS server failure',
  0x02: 'connection not allowed by ruleset',
  0x03: 'network unreachable',
  0x04: 'host unreachable',
  0x05: 'connection refused',
  0x06: 'TTL expired',
  0x07: 'command not supported',
  0x08: 'address type not supported',
};
export const SOCKS5_SUCCEEDED = 0x00;
export const SOCKS5_NOT_ALLOWED = 0x02;

/** VER NMETHODS METHODS: we offer "no authentication" only. */
export const SOCKS5_GREETING = Buffer.from([VERSION, 1, NO_AUTH]);

/** VER CMD RSV ATYP DST.ADDR DST.PORT, with the address as an IPv4/IPv6 literal or a name (at most 255 bytes). */
export function encodeConnectRequest(host: string, port: number): Buffer {
  const literal = parseIp(host.replace(/^\[(.*)\]$/, '$1'));
  let address: Buffer;
  if (literal) {
    const bytes = Buffer.from(literal.toByteArray());
    address = Buffer.concat([Buffer.from([bytes.length === 4 ? ATYP_IPV4 : ATYP_IPV6]), bytes]);
  } else {
    const name = Buffer.from(host, 'latin1');
    if (name.length === 0 || name.length > 255) throw new RangeError(`host name "${host}" cannot be sent over SOCKS5 (1 to 255 bytes)`);
    address = Buffer.concat([Buffer.from([ATYP_DOMAIN, name.length]), name]);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port ${port} is not 1 to 65535`);
  const portBytes = Buffer.alloc(2);
  portBytes.writeUInt16BE(port, 0);
  return Buffer.concat([Buffer.from([VERSION, CONNECT, 0x00]), address, portBytes]);
}

/** A parse: `undefined` while incomplete, else the value and the bytes used, or why the bytes are not SOCKS5. */
export type SocksParse<T> = { value: T; consumed: number } | { notSocks: string } | undefined;

/** VER METHOD: the method the server chose. */
export function parseMethodSelection(buf: Buffer): SocksParse<number> {
  if (buf.length < 2) return buf.length === 1 && buf[0] !== VERSION ? { notSocks: describeBytes(buf) } : undefined;
  if (buf[0] !== VERSION) return { notSocks: describeBytes(buf) };
  return { value: buf[1] as number, consumed: 2 };
}

/** VER REP RSV ATYP BND.ADDR BND.PORT: the reply code (BND is meaningless across the tunnel). */
export function parseConnectReply(buf: Buffer): SocksParse<number> {
  if (buf.length < 1) return undefined;
  if (buf[0] !== VERSION) return { notSocks: describeBytes(buf) };
  if (buf.length < 5) return undefined;
  const atyp = buf[3] as number;
  const addressLength = atyp === ATYP_IPV4 ? 4 : atyp === ATYP_IPV6 ? 16 : atyp === ATYP_DOMAIN ? 1 + (buf[4] as number) : -1;
  if (addressLength < 0) return { notSocks: `reply with address type ${atyp}` };
  const length = 4 + addressLength + 2;
  return buf.length < length ? undefined : { value: buf[1] as number, consumed: length };
}

/** The first bytes of an answer that is not SOCKS5, for a message; at most 8, in hex. */
function describeBytes(buf: Buffer): string {
  return `answer starting ${buf.subarray(0, 8).toString('hex')}`;
}
