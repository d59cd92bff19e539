/** Counters of the agent listener, for metrics (wired later) and tests. Plain numbers, only ever increased. */
export interface AgentServerStats {
  /** TCP connections taken in for a handshake. */
  connectionsAdmitted: number;
  /** Dropped at once because maxUnauthenticated connections were already pending. */
  rejectedTotalLimit: number;
  /** Dropped at once because that source address already had maxUnauthenticatedPerSource pending. */
  rejectedSourceLimit: number;
  /** Closed because authentication did not finish within authTimeoutMs. */
  authTimeouts: number;
  /** Refused authentication attempts (unknown node, key not listed, bad certificate or signature). */
  authFailures: number;
  /** Connections closed after maxAuthAttempts refused attempts. */
  authAttemptsExceeded: number;
  authSuccesses: number;
  /** Authenticated connections closed because no registration (tcpip-forward) came within registrationTimeoutMs. */
  registrationTimeouts: number;
  /** Registrations whose SOCKS5 probe succeeded and that were handed out. */
  registrations: number;
  /** Of those, how many replaced an earlier registration of the same node. */
  replacements: number;
  /** Registrations that do not answer SOCKS5 (static forwards and the like). */
  misconfigured: number;
  /** Global requests refused (anything but one tcpip-forward and keepalives). */
  refusedRequests: number;
  /** Channels an agent tried to open (session, direct-tcpip, streamlocal), all refused. */
  refusedChannels: number;
}

export function emptyAgentServerStats(): AgentServerStats {
  return {
    connectionsAdmitted: 0,
    rejectedTotalLimit: 0,
    rejectedSourceLimit: 0,
    authTimeouts: 0,
    authFailures: 0,
    authAttemptsExceeded: 0,
    authSuccesses: 0,
    registrationTimeouts: 0,
    registrations: 0,
    replacements: 0,
    misconfigured: 0,
    refusedRequests: 0,
    refusedChannels: 0,
  };
}
