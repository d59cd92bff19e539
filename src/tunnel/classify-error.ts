import { EgressError, HandshakeError } from '../errors.js';

/** Connectors throw EgressErrors; anything else that escapes is reported as a handshake failure. */
export function asEgressError(err: unknown, node: string): EgressError {
  if (err instanceof EgressError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new HandshakeError(node, message, err);
}
