import { EgressError, type EgressErrorCode } from '../errors.js';

/** Codes of failures that retrying soon cannot fix: the key is refused, the server's host key is not trusted. */
const NEEDS_A_FIX: ReadonlySet<EgressErrorCode> = new Set([
  'ERR_AUTH',
  'ERR_HOST_KEY_UNKNOWN',
  'ERR_HOST_KEY_MISMATCH',
  'ERR_HOST_KEY_REVOKED',
  'ERR_KNOWN_HOSTS',
  'ERR_KEY',
]);

/**
 * The agent's connection to one daemon failed. It carries the forward path's codes (ERR_CONNECT,
 * ERR_HANDSHAKE, ERR_AUTH, ERR_HOST_KEY_*), with a message about a server rather than a node.
 */
export class ServerConnectionError extends EgressError {
  readonly server: string;
  constructor(code: EgressErrorCode, server: string, why: string, cause?: unknown) {
    super(code, `server ${server}: ${why}`, { cause });
    this.server = server;
  }

  /** True when only a change (a key listed, a known_hosts line) will help: retried after a long pause. */
  get needsAFix(): boolean {
    return NEEDS_A_FIX.has(this.code);
  }
}
