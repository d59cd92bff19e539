/**
 * Every error ssh-egress raises is an EgressError with a stable `code` that callers, metrics and the
 * daemon's status mapping can switch on. Messages say which node and which destination were involved;
 * the original failure is kept as `cause`.
 */

export type EgressErrorCode =
  | 'ERR_CONFIG'
  | 'ERR_INVENTORY'
  | 'ERR_INVALID_TARGET'
  | 'ERR_NO_ROUTE'
  | 'ERR_POLICY_DENIED'
  | 'ERR_TUNNEL_UNAVAILABLE'
  | 'ERR_DIAL_TIMEOUT'
  | 'ERR_DIAL_ABORTED'
  | 'ERR_DIAL_QUEUE_FULL'
  | 'ERR_STREAM_LIMIT'
  | 'ERR_CONNECTION_LIMIT'
  | 'ERR_CHANNEL_OPEN'
  | 'ERR_TUNNEL_CLOSED'
  | 'ERR_CONNECT'
  | 'ERR_HANDSHAKE'
  | 'ERR_AUTH'
  | 'ERR_HOST_KEY_MISMATCH'
  | 'ERR_HOST_KEY_UNKNOWN'
  | 'ERR_HOST_KEY_REVOKED'
  | 'ERR_KNOWN_HOSTS'
  | 'ERR_KEY'
  | 'ERR_POOL_CLOSED'
  | 'ERR_POOL_NOT_READY'
  | 'ERR_TLS_CONFIG'
  | 'ERR_KUBELET_CERT'
  | 'ERR_AGENT_MISCONFIGURED'
  | 'ERR_MISSING_PACKAGE'
  | 'ERR_DAEMON_UNREACHABLE'
  | 'ERR_DAEMON_REFUSED'
  | 'ERR_NO_AGENT';

export interface EgressErrorDetails {
  /** The node whose tunnel was involved, when there was one. */
  node?: string;
  /** The destination as the caller named it, e.g. "198.19.1.7:8080". */
  target?: string;
  cause?: unknown;
}

export class EgressError extends Error {
  readonly code: EgressErrorCode;
  readonly node: string | undefined;
  readonly target: string | undefined;

  constructor(code: EgressErrorCode, message: string, details: EgressErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.node = details.node;
    this.target = details.target;
  }
}

/** Configuration that cannot be used; `path` names the offending field, e.g. "ssh.keepaliveIntervalMs". */
export class ConfigError extends EgressError {
  readonly path: string;
  constructor(path: string, problem: string, details: EgressErrorDetails = {}) {
    super('ERR_CONFIG', path ? `${path}: ${problem}` : problem, details);
    this.path = path;
  }
}

/** An inventory file or NodeList that cannot be used; `path` names the node and field, e.g. "nodes[2].podCIDRs[0]". */
export class InventoryError extends EgressError {
  readonly path: string;
  readonly source: string;
  constructor(source: string, path: string, problem: string, details: EgressErrorDetails = {}) {
    super('ERR_INVENTORY', `${source}: ${path ? `${path}: ` : ''}${problem}`, details);
    this.path = path;
    this.source = source;
  }
}

/** A dial target that cannot be parsed. */
export class InvalidTargetError extends EgressError {
  constructor(target: string, why: string) {
    super('ERR_INVALID_TARGET', `invalid target "${target}": ${why}`, { target });
  }
}

/** No tunnel may carry this destination: it is not a node, pod, service or explicitly allowed address. */
export class NoRouteError extends EgressError {
  constructor(target: string, why: string) {
    super('ERR_NO_ROUTE', `no route to ${target}: ${why}`, { target });
  }
}

/** The tunnel that must carry the stream is not usable now. `cause` is the tunnel's last error. */
export class TunnelUnavailableError extends EgressError {
  readonly state: string;
  constructor(node: string, state: string, why: string, details: EgressErrorDetails = {}) {
    super('ERR_TUNNEL_UNAVAILABLE', `tunnel to node ${node} is unavailable (${state}): ${why}`, { ...details, node });
    this.state = state;
  }
}

/**
 * A reverse tunnel has nothing to carry it: no agent of the node is registered with this replica. Dials see
 * it as the `cause` of their TunnelUnavailableError.
 */
export class NoAgentConnectedError extends EgressError {
  constructor(node: string) {
    super('ERR_NO_AGENT', `no agent of node ${node} is connected to this replica (reverse tunnel)`, { node });
  }
}

export class DialTimeoutError extends EgressError {
  readonly timeoutMs: number;
  constructor(target: string, timeoutMs: number, stage: string, details: EgressErrorDetails = {}) {
    const via = details.node ? ` via node ${details.node}` : '';
    super('ERR_DIAL_TIMEOUT', `dial ${target}${via} timed out after ${timeoutMs} ms (${stage})`, { ...details, target });
    this.timeoutMs = timeoutMs;
  }
}

export class DialAbortedError extends EgressError {
  constructor(target: string, details: EgressErrorDetails = {}) {
    super('ERR_DIAL_ABORTED', `dial ${target} was aborted`, { ...details, target });
  }
}

/**
 * Too many dials are already pending (waiting for a connecting tunnel or for their channel to open): on this
 * tunnel (`scope` "tunnel", maxPendingDialsPerTunnel) or across the pool ("pool", maxPendingDials).
 */
export class DialQueueFullError extends EgressError {
  readonly limit: number;
  readonly scope: 'tunnel' | 'pool';
  constructor(node: string, target: string, limit: number, scope: 'tunnel' | 'pool' = 'tunnel') {
    const where = scope === 'pool' ? 'across all tunnels (maxPendingDials)' : `for node ${node} (maxPendingDialsPerTunnel)`;
    super('ERR_DIAL_QUEUE_FULL', `dial ${target}: ${limit} dials already pending ${where}`, { node, target });
    this.limit = limit;
    this.scope = scope;
  }
}

/** The tunnel already carries its maximum of open streams (maxStreamsPerTunnel); one must close first. */
export class StreamLimitError extends EgressError {
  readonly limit: number;
  constructor(node: string, target: string, limit: number) {
    super('ERR_STREAM_LIMIT', `dial ${target}: node ${node} already carries ${limit} streams (maxStreamsPerTunnel)`, { node, target });
    this.limit = limit;
  }
}

/**
 * A proxy front end refused a client connection: `scope` "client" when that client address already has
 * maxConnectionsPerClient open, "total" when the front end has maxConnections.
 */
export class ConnectionLimitError extends EgressError {
  readonly limit: number;
  readonly scope: 'client' | 'total';
  constructor(frontend: string, limit: number, scope: 'client' | 'total', client?: string) {
    const what = scope === 'client' ? `${limit} connections already open from ${client ?? 'this client'} (maxConnectionsPerClient)` : `${limit} connections already open (maxConnections)`;
    super('ERR_CONNECTION_LIMIT', `${frontend}: ${what}`);
    this.limit = limit;
    this.scope = scope;
  }
}

/** SSH channel open failure reasons (RFC 4254 section 5.1). */
export const CHANNEL_OPEN_REASONS: Readonly<Record<number, string>> = {
  1: 'administratively prohibited',
  2: 'connect failed',
  3: 'unknown channel type',
  4: 'resource shortage',
};

/** The node's sshd refused to open the forwarding channel; `reason` is the SSH reason code when it sent one. */
export class ChannelOpenError extends EgressError {
  readonly reason: number | undefined;
  constructor(node: string, target: string, reason: number | undefined, text: string, cause?: unknown) {
    const label = reason !== undefined ? CHANNEL_OPEN_REASONS[reason] ?? `reason ${reason}` : 'no reason given';
    super('ERR_CHANNEL_OPEN', `node ${node} could not open a channel to ${target}: ${label}${text ? ` (${text})` : ''}`, {
      node,
      target,
      cause,
    });
    this.reason = reason;
  }
}

/** The SSH connection carrying a stream went away while the stream was open or opening. */
export class TunnelClosedError extends EgressError {
  constructor(node: string, why: string, details: EgressErrorDetails = {}) {
    super('ERR_TUNNEL_CLOSED', `tunnel to node ${node} closed: ${why}`, { ...details, node });
  }
}

/** TCP connection to the node's SSH port failed (refused, unreachable, timed out). */
export class ConnectError extends EgressError {
  constructor(node: string, why: string, cause?: unknown) {
    super('ERR_CONNECT', `cannot reach node ${node}: ${why}`, { node, cause });
  }
}

/** The SSH handshake failed after TCP connected (sshd dropped us, protocol error, timeout). */
export class HandshakeError extends EgressError {
  /** The connection closed before key exchange finished, as when sshd's MaxStartups sheds load: worth a quick retry. */
  readonly droppedBeforeKeyExchange: boolean;
  constructor(node: string, why: string, cause?: unknown, droppedBeforeKeyExchange = false) {
    super('ERR_HANDSHAKE', `SSH handshake with node ${node} failed: ${why}`, { node, cause });
    this.droppedBeforeKeyExchange = droppedBeforeKeyExchange;
  }
}

/** The node refused every key we offered. Retrying will not help until keys or config change. */
export class AuthenticationError extends EgressError {
  constructor(node: string, user: string, cause?: unknown) {
    super('ERR_AUTH', `authentication refused by node ${node} for user ${user}`, { node, cause });
  }
}

/** The node presented a host key other than the one we trust. Nothing was sent to it. */
export class HostKeyMismatchError extends EgressError {
  readonly expected: string[];
  readonly actual: string;
  constructor(node: string, expected: string[], actual: string) {
    super(
      'ERR_HOST_KEY_MISMATCH',
      `host key mismatch for node ${node}: expected ${expected.join(' or ')}, got ${actual}`,
      { node },
    );
    this.expected = expected;
    this.actual = actual;
  }
}

/** Where a missing host key comes from: said wherever one is unknown. */
export const HOST_KEY_HINT = 'add its key to the known_hosts file (--known-hosts, ssh.knownHostsFile); `ssh-egress scan` prints the lines';

/** No trusted host key is known for the node, so it cannot be verified. */
export class HostKeyUnknownError extends EgressError {
  readonly actual: string;
  constructor(node: string, lookedUp: string, actual: string) {
    super(
      'ERR_HOST_KEY_UNKNOWN',
      `no trusted host key for node ${node} (looked up ${lookedUp}); it presented ${actual}: ${HOST_KEY_HINT}`,
      { node },
    );
    this.actual = actual;
  }
}

/** The node presented a host key marked @revoked. */
export class HostKeyRevokedError extends EgressError {
  constructor(node: string, actual: string) {
    super('ERR_HOST_KEY_REVOKED', `node ${node} presented a revoked host key ${actual}`, { node });
  }
}

/** A known_hosts file cannot be used (for example it relies on @cert-authority, which ssh2 cannot check). */
export class KnownHostsError extends EgressError {
  constructor(message: string, cause?: unknown) {
    super('ERR_KNOWN_HOSTS', message, { cause });
  }
}

/** A private key that cannot be used: unreadable, bad passphrase, unsafe permissions. */
export class KeyError extends EgressError {
  constructor(message: string, cause?: unknown) {
    super('ERR_KEY', message, { cause });
  }
}

export class PoolClosedError extends EgressError {
  constructor() {
    super('ERR_POOL_CLOSED', 'the tunnel pool is closed');
  }
}

/** `pool.ready()` gave up: too few tunnels became READY in time. The message lists why for each. */
export class PoolNotReadyError extends EgressError {
  readonly ready: number;
  readonly wanted: number;
  constructor(ready: number, wanted: number, why: string, details: EgressErrorDetails = {}) {
    super('ERR_POOL_NOT_READY', `${ready} of ${wanted} wanted tunnels ready: ${why}`, details);
    this.ready = ready;
    this.wanted = wanted;
  }
}

/** True for failures that retrying cannot fix: they park the tunnel until config changes. */
export function isPermanentFailure(err: unknown): boolean {
  return (
    err instanceof AuthenticationError ||
    err instanceof HostKeyMismatchError ||
    err instanceof HostKeyUnknownError ||
    err instanceof HostKeyRevokedError ||
    err instanceof KnownHostsError ||
    err instanceof KeyError
  );
}

/**
 * The destination is known (a node, a pod, a service or an allowed range) but the destination policy
 * forbids it, e.g. a node port outside `policy.nodePorts`. Nothing was sent. `reason` says which rule.
 */
export class PolicyDeniedError extends EgressError {
  readonly reason: string;
  constructor(target: string, reason: string, details: EgressErrorDetails = {}) {
    super('ERR_POLICY_DENIED', `policy denies ${target}: ${reason}`, { ...details, target });
    this.reason = reason;
  }
}

/** An optional package a feature needs is not installed; the message says which and how to add it. */
export class MissingPackageError extends EgressError {
  readonly packageName: string;
  constructor(packageName: string, neededFor: string, cause?: unknown) {
    super('ERR_MISSING_PACKAGE', `${neededFor} needs ${packageName}, which is not installed: add it with \`npm install ${packageName}\``, { cause });
    this.packageName = packageName;
  }
}

/** The running daemon could not be asked: no socket or listener there, or it is not speaking HTTP CONNECT. */
export class DaemonUnreachableError extends EgressError {
  constructor(daemon: string, why: string, cause?: unknown) {
    super('ERR_DAEMON_UNREACHABLE', `cannot reach the daemon at ${daemon}: ${why}`, { cause });
  }
}

/** The daemon answered a CONNECT with a refusal; `status` is its HTTP status (502 no route, 504 timeout...). */
export class DaemonRefusedError extends EgressError {
  readonly status: number;
  constructor(target: string, status: number, reason: string) {
    super('ERR_DAEMON_REFUSED', `the daemon refused ${target}: HTTP ${status}${reason ? `: ${reason}` : ''}`, { target });
    this.status = status;
  }
}
