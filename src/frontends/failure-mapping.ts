import { ChannelOpenError, EgressError } from '../errors.js';

/** How a failed dial is reported to a proxy client. */
export interface FailureReply {
  /** HTTP status for a CONNECT (Konnectivity's mapping: 502 refused/unreachable, 503 resources, 504 timeouts). */
  httpStatus: number;
  /** SOCKS5 reply code (RFC 1928 section 6). */
  socksReply: number;
  /** Short reason for the client and a metric label: the error code, or "internal". */
  reason: string;
}

export const SOCKS_REPLY = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

const BY_CODE: Record<string, [httpStatus: number, socksReply: number]> = {
  ERR_INVALID_TARGET: [400, SOCKS_REPLY.HOST_UNREACHABLE],
  ERR_POLICY_DENIED: [403, SOCKS_REPLY.NOT_ALLOWED],
  ERR_NO_ROUTE: [502, SOCKS_REPLY.HOST_UNREACHABLE],
  ERR_TUNNEL_CLOSED: [502, SOCKS_REPLY.NETWORK_UNREACHABLE],
  ERR_TUNNEL_UNAVAILABLE: [503, SOCKS_REPLY.NETWORK_UNREACHABLE],
  // Resource bounds (docs/daemon.md, "Limits"): the request was fine, we are full. 503 tells the client to retry later.
  ERR_DIAL_QUEUE_FULL: [503, SOCKS_REPLY.GENERAL_FAILURE],
  ERR_STREAM_LIMIT: [503, SOCKS_REPLY.GENERAL_FAILURE],
  ERR_CONNECTION_LIMIT: [503, SOCKS_REPLY.GENERAL_FAILURE],
  ERR_POOL_CLOSED: [503, SOCKS_REPLY.GENERAL_FAILURE],
  ERR_DIAL_ABORTED: [503, SOCKS_REPLY.GENERAL_FAILURE],
  ERR_DIAL_TIMEOUT: [504, SOCKS_REPLY.TTL_EXPIRED],
};

/** SSH channel-open reasons: 1 prohibited, 2 connect failed (refused/unreachable), 3 unknown type, 4 resource shortage. */
const BY_CHANNEL_REASON: Record<number, [number, number]> = {
  1: [502, SOCKS_REPLY.NOT_ALLOWED],
  2: [502, SOCKS_REPLY.CONNECTION_REFUSED],
  3: [502, SOCKS_REPLY.GENERAL_FAILURE],
  4: [503, SOCKS_REPLY.GENERAL_FAILURE],
};

export function mapDialFailure(err: unknown): FailureReply {
  if (err instanceof ChannelOpenError) {
    const [httpStatus, socksReply] = (err.reason !== undefined && BY_CHANNEL_REASON[err.reason]) || [502, SOCKS_REPLY.GENERAL_FAILURE];
    return { httpStatus, socksReply, reason: err.code };
  }
  if (err instanceof EgressError) {
    const [httpStatus, socksReply] = BY_CODE[err.code] ?? [502, SOCKS_REPLY.GENERAL_FAILURE];
    return { httpStatus, socksReply, reason: err.code };
  }
  return { httpStatus: 502, socksReply: SOCKS_REPLY.GENERAL_FAILURE, reason: 'internal' };
}
