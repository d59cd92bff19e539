import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BackoffOptions, RetryPolicy } from '../timing/backoff.js';
import type { SshConnector } from '../ssh/ssh-session.js';

export interface TunnelPoolOptions {
  /** The SSH user on every node. */
  user: string;
  /** Private key file (OpenSSH, PEM or PuTTY format); must not be readable by group or others. */
  identityFile?: string;
  passphrase?: string;
  passphraseFile?: string;
  /** Name of an environment variable holding the passphrase. */
  passphraseEnv?: string;
  /** ssh-agent socket path. Defaults to $SSH_AUTH_SOCK when no identityFile is given. */
  agentSocket?: string;
  /** OpenSSH known_hosts file of trusted host keys. Pinned fingerprints in the inventory are trusted too. */
  knownHostsFile?: string;
  /** Accept any host key. Dangerous: anyone on the path can impersonate a node. */
  insecureIgnoreHostKeys?: boolean;
  /**
   * Trust on first use: a node with no trusted key yet has the key it presents recorded in this file
   * (created 0600, OpenSSH known_hosts format) and enforced from then on. Explicit opt-in.
   */
  trustOnFirstUseFile?: string;
  /** Active health check through each READY tunnel, besides SSH keepalive. */
  healthCheck?: HealthCheckOptions;
  /** TCP connect timeout to a node's sshd. Default 10000. */
  connectTimeoutMs?: number;
  /** SSH handshake and authentication timeout. Default 15000. */
  handshakeTimeoutMs?: number;
  /** SSH keepalive interval; 0 turns keepalive off. Default 15000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as dead. Default 3. */
  keepaliveCountMax?: number;
  /** Connection attempts in flight across the pool (stay below sshd's MaxStartups 10). Default 8. */
  maxConcurrentConnects?: number;
  /**
   * SSH connections to each node (1 to 8). More than one spreads sshd's encryption over more of the node's
   * cores and lets a new stream avoid a connection busy with uploads; each costs an sshd process on the node.
   * The connections of a node fail and reconnect together. Default 1.
   */
  connectionsPerNode?: number;
  /**
   * Dials that may be pending on one tunnel (waiting for it to connect, or for their SSH channel to open);
   * more fail fast with ERR_DIAL_QUEUE_FULL. Default 1000.
   */
  maxPendingDialsPerTunnel?: number;
  /** Pending dials across the whole pool; more fail fast with ERR_DIAL_QUEUE_FULL. Default 10000. */
  maxPendingDials?: number;
  /**
   * Streams open (or opening) through one tunnel; more fail with ERR_STREAM_LIMIT until one closes. Each is
   * a socket in the node's sshd, whose open-file limit is often 1024. Default 1000.
   */
  maxStreamsPerTunnel?: number;
  /** Bytes an SSH connection's socket may buffer before streams wait to write. Default 1 MiB. */
  maxWriteBufferBytes?: number;
  /**
   * Bytes one SSH connection may have sent that sshd has not yet taken in, summed over its streams, before
   * streams wait (each may still keep a few packets in flight). It bounds the queue a new stream's first bytes
   * join behind uploads; raise it where bandwidth × round trip to the nodes is larger. Paced only with
   * OpenSSH's sshd, whose acknowledgement rule is known. Default 2 MiB (what sshd grants one stream).
   */
  connectionWindowBytes?: number;
  /** Connect a node's tunnel only when a dial first needs it (for short-lived tools). Default false. */
  lazyConnect?: boolean;
  /** How long a removed node's open streams may continue. Default 30000. */
  drainGraceMs?: number;
  /** A connection up this long resets the retry backoff. Default 10000. */
  stableAfterMs?: number;
  backoff?: BackoffOptions;
  /** Replaces the exponential backoff entirely. */
  retryPolicy?: RetryPolicy;
  logger?: Logger;
  /** Replaces the ssh2 connector (tests, custom transports). */
  connector?: SshConnector;
}

export interface HealthCheckOptions {
  /**
   * 'kubelet-https': GET https://<node>:<kubeletPort><path> through the tunnel must answer 200 (default);
   * 'tcp': a channel to <node>:<port> must open; 'ssh': keepalive only, no active probe.
   */
  kind?: 'kubelet-https' | 'tcp' | 'ssh';
  /** Port for 'tcp' (default: the node's kubelet port). */
  port?: number;
  /** Path for 'kubelet-https'. Default '/healthz'. */
  path?: string;
  /** Time between probes of one tunnel; each tunnel starts at a random offset. Default 30000. */
  intervalMs?: number;
  /** Default 5000. */
  timeoutMs?: number;
  /** Consecutive failures that mark the tunnel unhealthy and reconnect it. Default 3. */
  failureThreshold?: number;
  /**
   * TLS for 'kubelet-https': `ca` verifies the kubelet's certificate (with the node's address or name
   * checked against its SANs); `cert`/`key` authenticate us. Without `ca` the certificate is not checked.
   */
  tls?: import('node:tls').ConnectionOptions;
}

export const POOL_DEFAULTS = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 15_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxConcurrentConnects: 8,
  connectionsPerNode: 1,
  maxPendingDialsPerTunnel: 1000,
  maxPendingDials: 10_000,
  maxStreamsPerTunnel: 1000,
  maxWriteBufferBytes: 1024 * 1024,
  connectionWindowBytes: 2 * 1024 * 1024,
  drainGraceMs: 30_000,
  stableAfterMs: 10_000,
} as const;

export const HEALTH_CHECK_DEFAULTS = {
  kind: 'kubelet-https',
  path: '/healthz',
  intervalMs: 30_000,
  timeoutMs: 5_000,
  failureThreshold: 3,
} as const;

export type ResolvedHealthCheck = Omit<HealthCheckOptions, 'kind' | 'path' | 'intervalMs' | 'timeoutMs' | 'failureThreshold'> & {
  kind: NonNullable<HealthCheckOptions['kind']>;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
};

export type ResolvedPoolOptions = TunnelPoolOptions & { [K in keyof typeof POOL_DEFAULTS]: number } & {
  healthCheck: ResolvedHealthCheck;
};

/** More connections per node than this only add sshd processes. */
export const MAX_CONNECTIONS_PER_NODE = 8;

/** The socket's own high-water mark; below it 'drain' would never tell waiting writers to go on. */
const MIN_WRITE_BUFFER = 64 * 1024;

export function resolvePoolOptions(options: TunnelPoolOptions): ResolvedPoolOptions {
  if (!options || typeof options.user !== 'string' || options.user === '') {
    throw new ConfigError('user', 'the SSH user is required');
  }
  const resolved = { ...POOL_DEFAULTS, ...options } as ResolvedPoolOptions;
  for (const field of Object.keys(POOL_DEFAULTS) as (keyof typeof POOL_DEFAULTS)[]) {
    const value = resolved[field];
    const minimum = field === 'keepaliveIntervalMs' ? 0 : 1;
    if (!Number.isInteger(value) || value < minimum) {
      throw new ConfigError(field, `must be an integer >= ${minimum}, got ${JSON.stringify(value)}`);
    }
  }
  if (resolved.connectionsPerNode > MAX_CONNECTIONS_PER_NODE) {
    throw new ConfigError('connectionsPerNode', `must be at most ${MAX_CONNECTIONS_PER_NODE}, got ${resolved.connectionsPerNode}`);
  }
  for (const field of ['maxWriteBufferBytes', 'connectionWindowBytes'] as const) {
    if (resolved[field] < MIN_WRITE_BUFFER) throw new ConfigError(field, `must be at least ${MIN_WRITE_BUFFER}`);
  }
  if (options.insecureIgnoreHostKeys && options.trustOnFirstUseFile) {
    throw new ConfigError('trustOnFirstUseFile', 'cannot be combined with insecureIgnoreHostKeys: choose one way to trust host keys');
  }
  if (!options.connector && !options.identityFile && !options.agentSocket && !process.env.SSH_AUTH_SOCK) {
    throw new ConfigError('identityFile', 'give an identityFile or an agentSocket (no SSH_AUTH_SOCK is set)');
  }
  resolved.healthCheck = resolveHealthCheck(options.healthCheck);
  return resolved;
}

function resolveHealthCheck(options: HealthCheckOptions = {}): ResolvedHealthCheck {
  const resolved: ResolvedHealthCheck = { ...HEALTH_CHECK_DEFAULTS, ...options };
  if (!['kubelet-https', 'tcp', 'ssh'].includes(resolved.kind)) {
    throw new ConfigError('healthCheck.kind', `must be kubelet-https, tcp or ssh, got ${JSON.stringify(resolved.kind)}`);
  }
  for (const field of ['intervalMs', 'timeoutMs', 'failureThreshold'] as const) {
    if (!Number.isInteger(resolved[field]) || resolved[field] < 1) {
      throw new ConfigError(`healthCheck.${field}`, `must be an integer >= 1, got ${JSON.stringify(resolved[field])}`);
    }
  }
  if (resolved.port !== undefined && !(Number.isInteger(resolved.port) && resolved.port >= 1 && resolved.port <= 65535)) {
    throw new ConfigError('healthCheck.port', `must be a port from 1 to 65535, got ${JSON.stringify(resolved.port)}`);
  }
  if (!resolved.path.startsWith('/')) throw new ConfigError('healthCheck.path', `must start with "/", got "${resolved.path}"`);
  return resolved;
}
