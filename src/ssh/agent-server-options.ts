import type { Logger } from '../log.js';
import type { AgentNodeLookup } from './agent-auth.js';
import type { TrustedUserCA } from './agent-user-ca.js';

export interface AgentServerOptions {
  /** The listener's host key (see loadOrCreateAgentHostKey). */
  hostKey: Buffer;
  lookupNode: AgentNodeLookup;
  userCAs?: readonly TrustedUserCA[];
  /** Connections not yet authenticated, in total (sshd MaxStartups). Default 100. */
  maxUnauthenticated?: number;
  /** ...and from one source address. Default 10. */
  maxUnauthenticatedPerSource?: number;
  /** From TCP accept to authenticated (sshd LoginGraceTime). Default 20000 ms. */
  authTimeoutMs?: number;
  /** Refused authentication attempts before the connection is closed (sshd MaxAuthTries). Default 6. */
  maxAuthAttempts?: number;
  /** From authenticated to the tcpip-forward request. Default 30000 ms. */
  registrationTimeoutMs?: number;
  /** How long an agent may take to answer SOCKS5 in a channel (the probe and every dial). Default 10000 ms. */
  socksTimeoutMs?: number;
  /** SSH keepalive towards the agent; a dead agent is noticed after interval x (countMax + 1). Default 15000 ms, 3. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Per connection, as for forward sessions (see Ssh2SessionLimits). Defaults 4 MiB and 8 MiB. */
  maxWriteBufferBytes?: number;
  connectionWindowBytes?: number;
  logger?: Logger;
}

/** The options with every bound and timeout filled in. */
export type ResolvedAgentServerOptions = Required<Omit<AgentServerOptions, 'userCAs' | 'logger'>>;

const DEFAULTS: Omit<ResolvedAgentServerOptions, 'hostKey' | 'lookupNode'> = {
  maxUnauthenticated: 100,
  maxUnauthenticatedPerSource: 10,
  authTimeoutMs: 20_000,
  maxAuthAttempts: 6,
  registrationTimeoutMs: 30_000,
  socksTimeoutMs: 10_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxWriteBufferBytes: 4 * 1024 * 1024,
  connectionWindowBytes: 8 * 1024 * 1024,
};

export function resolveAgentServerOptions(options: AgentServerOptions): ResolvedAgentServerOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([name, value]) => value !== undefined && name !== 'userCAs' && name !== 'logger'));
  return { ...DEFAULTS, ...given } as ResolvedAgentServerOptions;
}
