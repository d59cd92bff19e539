import { EgressError } from '../errors.js';

/**
 * A probe could not get its channel through the SSH connection: the connection closed under it, or sshd did
 * not answer the channel open within the probe's time. The SSH path itself is in doubt, so after
 * failureThreshold of these the health monitor reconnects the tunnel. It keeps the cause's code.
 */
export class ProbeConnectionError extends EgressError {
  constructor(cause: EgressError) {
    super(cause.code, cause.message, { node: cause.node, target: cause.target, cause });
  }
}
