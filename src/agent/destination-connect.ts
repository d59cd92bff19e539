/** One CONNECT on the node: the name looked up here, the address checked against the policy, then TCP. */
import { lookup } from 'node:dns/promises';
import type net from 'node:net';
import { DialTimeoutError } from '../errors.js';
import { normalizeIp } from '../net/address.js';
import { SOCKS_REPLY } from '../frontends/failure-mapping.js';
import { withDeadline } from '../timing/deadline.js';
import type { AllowPolicy } from './allow-policy.js';
import { openTcp } from './open-tcp.js';

export type DestinationOutcome =
  | { ok: true; socket: net.Socket; address: string }
  /** `reply` is the SOCKS5 reply code to answer with; `reason` is for the log. */
  | { ok: false; reply: number; reason: string };

/** Socket errors as SOCKS5 replies (RFC 1928 section 6); anything else is a general failure. */
const REPLY_BY_ERRNO: Record<string, number> = {
  ECONNREFUSED: SOCKS_REPLY.CONNECTION_REFUSED,
  ENETUNREACH: SOCKS_REPLY.NETWORK_UNREACHABLE,
  EHOSTUNREACH: SOCKS_REPLY.HOST_UNREACHABLE,
  EHOSTDOWN: SOCKS_REPLY.HOST_UNREACHABLE,
  ETIMEDOUT: SOCKS_REPLY.TTL_EXPIRED,
  EADDRNOTAVAIL: SOCKS_REPLY.NETWORK_UNREACHABLE,
};

/**
 * Resolves, checks and connects within `timeoutMs`. A name is resolved here, on the node, and the policy
 * judges the addresses it gave; the connection then goes to exactly an address that was judged, so a
 * second lookup cannot swap in another (DNS rebinding).
 */
export async function connectDestination(host: string, port: number, policy: AllowPolicy, timeoutMs: number): Promise<DestinationOutcome> {
  const deadline = Date.now() + timeoutMs;
  const literal = normalizeIp(host);
  let candidates: string[];
  if (literal !== undefined) candidates = [literal];
  else {
    try {
      candidates = await withDeadline(lookupAll(host), { target: `${host}:${port}`, deadline, timeoutMs }, '', 'name lookup');
    } catch (err) {
      if (err instanceof DialTimeoutError) return { ok: false, reply: SOCKS_REPLY.TTL_EXPIRED, reason: `looking up ${host} took over ${timeoutMs} ms` };
      return { ok: false, reply: SOCKS_REPLY.HOST_UNREACHABLE, reason: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
    }
  }
  const denials: string[] = [];
  const allowed = candidates.filter((address) => {
    const denial = policy.denial(address, port);
    if (denial !== undefined) denials.push(denial);
    return denial === undefined;
  });
  const address = allowed[0];
  if (address === undefined) {
    const named = literal === undefined ? ` (${host} resolved to ${candidates.join(', ')})` : '';
    return { ok: false, reply: SOCKS_REPLY.NOT_ALLOWED, reason: `not allowed: ${denials.join('; ')}${named}` };
  }
  const opened = await openTcp(address, port, Math.max(1, deadline - Date.now()), true);
  if (opened.ok) return { ok: true, socket: opened.socket, address };
  const reply = opened.timedOut ? SOCKS_REPLY.TTL_EXPIRED : (opened.errno === undefined ? undefined : REPLY_BY_ERRNO[opened.errno]);
  return { ok: false, reply: reply ?? SOCKS_REPLY.GENERAL_FAILURE, reason: opened.reason };
}

async function lookupAll(host: string): Promise<string[]> {
  const found = await lookup(host, { all: true, verbatim: true });
  return found.flatMap((entry) => normalizeIp(entry.address) ?? []);
}
