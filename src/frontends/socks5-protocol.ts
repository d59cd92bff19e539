// SOCKS5 wire format (RFC 1928, and RFC 1929 for username/password): pure parsers and encoders.
// Each parser takes every byte received so far and answers "need more", a message and how many bytes it
// used, or a protocol error, so callers can feed bytes as TCP happens to split them.
import { SOCKS_REPLY } from './failure-mapping.js';

export const SOCKS_VERSION = 0x05;
export const AUTH_VERSION = 0x01;

export const METHOD = { NO_AUTH: 0x00, USERNAME_PASSWORD: 0x02, NO_ACCEPTABLE: 0xff } as const;
export const COMMAND = { CONNECT: 0x01, BIND: 0x02, UDP_ASSOCIATE: 0x03 } as const;
export const ATYP = { IPV4: 0x01, DOMAIN: 0x03, IPV6: 0x04 } as const;

/** Parse outcome: `undefined` means the message is not complete yet. */
export type Parsed<T> = { value: T; consumed: number } | ProtocolFailure | undefined;

/** Why the bytes cannot be served; `reply` is the SOCKS5 reply code to send first, when one is due. */
export interface ProtocolFailure {
  failure: string;
  reply?: number;
}

export const isFailure = <T>(p: Parsed<T>): p is ProtocolFailure => p !== undefined && 'failure' in p;

export interface Greeting {
  methods: number[];
}

export interface Credentials {
  username: string;
  password: string;
}

export interface ConnectRequest {
  /** A dotted quad, a compressed IPv6 literal, or the name exactly as the client sent it. */
  host: string;
  port: number;
  atyp: number;
}

/** VER NMETHODS METHODS... A wrong version is named so the log says what kind of client knocked. */
export function parseGreeting(buf: Buffer): Parsed<Greeting> {
  if (buf.length < 1) return undefined;
  if (buf[0] !== SOCKS_VERSION) return { failure: describeWrongVersion(buf) };
  if (buf.length < 2) return undefined;
  const count = buf[1] as number;
  if (buf.length < 2 + count) return undefined;
  return { value: { methods: [...buf.subarray(2, 2 + count)] }, consumed: 2 + count };
}

/** RFC 1929: VER ULEN UNAME PLEN PASSWD. Empty names and passwords parse; they simply never match. */
export function parseCredentials(buf: Buffer): Parsed<Credentials> {
  if (buf.length < 1) return undefined;
  if (buf[0] !== AUTH_VERSION) return { failure: `username/password sub-negotiation version ${buf[0]} (expected 1)` };
  if (buf.length < 2) return undefined;
  const ulen = buf[1] as number;
  if (buf.length < 2 + ulen + 1) return undefined;
  const plen = buf[2 + ulen] as number;
  const end = 3 + ulen + plen;
  if (buf.length < end) return undefined;
  return {
    value: { username: buf.toString('utf8', 2, 2 + ulen), password: buf.toString('utf8', 3 + ulen, end) },
    consumed: end,
  };
}

/**
 * VER CMD RSV ATYP DST.ADDR DST.PORT. An unsupported command or address type is answered as soon as the
 * header shows it: the rest of the request cannot change the answer (and for an unknown type, its length
 * cannot even be known).
 */
export function parseRequest(buf: Buffer): Parsed<ConnectRequest> {
  if (buf.length < 1) return undefined;
  if (buf[0] !== SOCKS_VERSION) return { failure: `request version ${buf[0]} (expected 5)`, reply: SOCKS_REPLY.GENERAL_FAILURE };
  if (buf.length < 4) return undefined;
  const cmd = buf[1] as number;
  const atyp = buf[3] as number;
  if (cmd !== COMMAND.CONNECT) return { failure: `command ${cmd} is not supported (only CONNECT)`, reply: SOCKS_REPLY.COMMAND_NOT_SUPPORTED };
  let host: string;
  let at: number;
  switch (atyp) {
    case ATYP.IPV4:
      if (buf.length < 4 + 4 + 2) return undefined;
      host = [...buf.subarray(4, 8)].join('.');
      at = 8;
      break;
    case ATYP.DOMAIN: {
      if (buf.length < 5) return undefined;
      const len = buf[4] as number;
      if (buf.length < 5 + len + 2) return undefined;
      host = buf.toString('latin1', 5, 5 + len);
      at = 5 + len;
      break;
    }
    case ATYP.IPV6:
      if (buf.length < 4 + 16 + 2) return undefined;
      host = formatIpv6(buf.subarray(4, 20));
      at = 20;
      break;
    default:
      return { failure: `address type ${atyp} is not supported`, reply: SOCKS_REPLY.ADDRESS_TYPE_NOT_SUPPORTED };
  }
  return { value: { host, port: buf.readUInt16BE(at), atyp }, consumed: at + 2 };
}

export function encodeMethodSelection(method: number): Buffer {
  return Buffer.from([SOCKS_VERSION, method]);
}

export function encodeAuthStatus(ok: boolean): Buffer {
  return Buffer.from([AUTH_VERSION, ok ? 0x00 : 0x01]);
}

/**
 * VER REP RSV ATYP BND.ADDR BND.PORT, always with BND = 0.0.0.0:0: the real bound address is on the far
 * node's side of an SSH channel, which neither we nor the client can use, and clients of CONNECT ignore it.
 */
export function encodeReply(reply: number): Buffer {
  return Buffer.from([SOCKS_VERSION, reply, 0x00, ATYP.IPV4, 0, 0, 0, 0, 0, 0]);
}

/** SOCKS4's "request rejected" (VN 0, CD 0x5B), so a SOCKS4 client reports a refusal instead of a hang-up. */
export const SOCKS4_REJECTED = Buffer.from([0x00, 0x5b, 0, 0, 0, 0, 0, 0]);

function describeWrongVersion(buf: Buffer): string {
  const first = buf[0] as number;
  if (first === 0x04) return 'SOCKS4 client (only SOCKS5 is served)';
  if (first >= 0x41 && first <= 0x5a) return 'not SOCKS (looks like text, e.g. HTTP)';
  return `version ${first} (expected 5)`;
}

/** Compressed lower-case text (RFC 5952 style) from 16 bytes. */
export function formatIpv6(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  // Longest run of two or more zero groups becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
