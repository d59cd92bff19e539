import { EgressError } from '../errors.js';

/**
 * A node's agent registered a reverse forward that does not speak SOCKS5, such as a static
 * `ssh -R 0:host:port` forward (it pipes our bytes to one fixed destination): the registration is not used.
 */
export class AgentMisconfiguredError extends EgressError {
  constructor(node: string, why: string, cause?: unknown) {
    super(
      'ERR_AGENT_MISCONFIGURED',
      `agent of node ${node} is misconfigured: ${why}; a node must forward with "ssh -R <port>" (no destination), which answers SOCKS5`,
      { node, cause },
    );
  }
}
