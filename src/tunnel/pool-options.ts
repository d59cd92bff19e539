/** The pool's options: the documented type, its schema (which the config file's ssh: and limits: compose), defaults. */
import { z } from 'zod';
import {
  booleanRule,
  bytesAtLeastRule,
  countRule,
  countUpToRule,
  durationMsOrOffRule,
  durationMsRule,
  envNameRule,
  filePathRule,
  functionRule,
  objectRule,
  userNameRule,
} from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import type { Logger } from '../log.js';
import type { BackoffOptions, RetryPolicy } from '../timing/backoff.js';
import type { SshConnector } from '../ssh/ssh-session.js';
import { tunnelModeRule } from '../nodes/inventory-schema.js';
import type { TunnelMode } from '../nodes/tunnel-mode.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';
import { healthCheckObject, resolveHealthCheck, type HealthCheckOptions, type ResolvedHealthCheck } from './health-check-options.js';

export interface TunnelPoolOptions {
  /** The SSH user on every node (forward tunnels). */
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
  /**
   * Which way the tunnel of a node without its own `tunnel:` goes: `forward` dials the node's sshd,
   * `reverse` waits for the node's agent to dial in (attachAgentServer), `auto` does both and uses whichever
   * connection is READY. Default forward.
   */
  tunnel?: TunnelMode;
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
  /**
   * Connection attempts in flight across the pool. A node sees at most connectionsPerNode of them, so sshd's
   * MaxStartups is not what bounds this; it bounds the control plane's burst. A handshake is mostly waiting
   * (a real sshd forks and re-executes itself first): at sshd's ~30 ms, 5,000 nodes wait ~19 s with 8 in
   * flight whatever the CPU, 2.3 s with 64 (BENCHMARKS.md section 5). Default 64.
   */
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

export const POOL_DEFAULTS = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 15_000,
  keepaliveIntervalMs: 15_000,
  keepaliveCountMax: 3,
  maxConcurrentConnects: 64,
  connectionsPerNode: 1,
  maxPendingDialsPerTunnel: 1000,
  maxPendingDials: 10_000,
  maxStreamsPerTunnel: 1000,
  maxWriteBufferBytes: 1024 * 1024,
  connectionWindowBytes: 2 * 1024 * 1024,
  drainGraceMs: 30_000,
  stableAfterMs: 10_000,
} as const;

export type ResolvedPoolOptions = TunnelPoolOptions & { [K in keyof typeof POOL_DEFAULTS]: number } & {
  healthCheck: ResolvedHealthCheck;
};

/** More connections per node than this only add sshd processes. */
export const MAX_CONNECTIONS_PER_NODE = 8;

/** The socket's own high-water mark; below it 'drain' would never tell waiting writers to go on. */
export const MIN_WRITE_BUFFER_BYTES = 64 * 1024;

/** Every field, as a plain object for the config file to pick from; the rules across fields are poolRules. */
export const poolOptionsObject = z.strictObject({
  user: userNameRule,
  identityFile: filePathRule.optional(),
  passphrase: z.string().optional(),
  passphraseFile: filePathRule.optional(),
  passphraseEnv: envNameRule.optional(),
  agentSocket: filePathRule.optional(),
  knownHostsFile: filePathRule.optional(),
  insecureIgnoreHostKeys: booleanRule.optional(),
  trustOnFirstUseFile: filePathRule.optional(),
  tunnel: tunnelModeRule.optional(),
  healthCheck: healthCheckObject.optional(),
  connectTimeoutMs: durationMsRule.optional(),
  handshakeTimeoutMs: durationMsRule.optional(),
  keepaliveIntervalMs: durationMsOrOffRule.optional(),
  keepaliveCountMax: countRule.optional(),
  maxConcurrentConnects: countRule.optional(),
  connectionsPerNode: countUpToRule(MAX_CONNECTIONS_PER_NODE).optional(),
  maxPendingDialsPerTunnel: countRule.optional(),
  maxPendingDials: countRule.optional(),
  maxStreamsPerTunnel: countRule.optional(),
  maxWriteBufferBytes: bytesAtLeastRule(MIN_WRITE_BUFFER_BYTES).optional(),
  // Below the write buffer's floor a channel could not keep the few packets in flight that sshd acknowledges.
  connectionWindowBytes: bytesAtLeastRule(MIN_WRITE_BUFFER_BYTES).optional(),
  lazyConnect: booleanRule.optional(),
  drainGraceMs: durationMsRule.optional(),
  stableAfterMs: durationMsRule.optional(),
  backoff: objectRule<BackoffOptions>('backoff options').optional(),
  retryPolicy: functionRule<RetryPolicy>('a retry policy function').optional(),
  logger: objectRule<Logger>('a logger').optional(),
  connector: functionRule<SshConnector>('a connector function').optional(),
} satisfies ShapeOf<TunnelPoolOptions>);

type Fields<K extends keyof TunnelPoolOptions> = Pick<TunnelPoolOptions, K>;

/**
 * Rules across the SSH fields, for the pool's options and the config file's ssh: section alike: choices
 * that exclude each other.
 */
export function sshChoiceRules(o: Fields<'passphraseFile' | 'passphraseEnv' | 'insecureIgnoreHostKeys' | 'trustOnFirstUseFile'>, ctx: z.RefinementCtx): void {
  if (o.passphraseFile !== undefined && o.passphraseEnv !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['passphraseEnv'], message: 'give passphraseFile or passphraseEnv, not both' });
  }
  if (o.insecureIgnoreHostKeys && o.trustOnFirstUseFile !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['trustOnFirstUseFile'], message: 'cannot be combined with insecureIgnoreHostKeys: choose one way to trust host keys' });
  }
}

/**
 * The pool needs a key from somewhere; the config file may leave it to $SSH_AUTH_SOCK, so this is the
 * pool's rule alone, checked when it is built.
 */
function credentialsRule(o: Fields<'connector' | 'identityFile' | 'agentSocket' | 'tunnel'>, ctx: z.RefinementCtx): void {
  // A reverse-only pool dials no sshd; a node set to forward in it fails at connect with the reason.
  if (o.tunnel !== 'reverse' && !o.connector && !o.identityFile && !o.agentSocket && !process.env.SSH_AUTH_SOCK) {
    ctx.addIssue({ code: 'custom', path: ['identityFile'], message: 'give an identityFile or an agentSocket (no SSH_AUTH_SOCK is set)' });
  }
}

export const poolOptionsSchema = poolOptionsObject.superRefine((o, ctx) => {
  sshChoiceRules(o, ctx);
  credentialsRule(o, ctx);
});

/** Checks the options (ConfigError naming the field) and fills the defaults. */
export function resolvePoolOptions(options: TunnelPoolOptions): ResolvedPoolOptions {
  const parsed = parseOptions(poolOptionsSchema, options);
  return { ...POOL_DEFAULTS, ...defined(parsed), healthCheck: resolveHealthCheck(parsed.healthCheck) };
}

