import type { KubernetesInventorySettings } from '../kube/kube-settings.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import type { DestinationPolicyOptions } from '../dialer/policy-options.js';
import type { HealthCheckOptions } from '../tunnel/health-check-options.js';
import type { TunnelPoolOptions } from '../tunnel/pool-options.js';

/**
 * The validated configuration, as the daemon and the CLI use it. The YAML file (documented in
 * examples/ssh-egress.yaml) maps onto it one to one; relative paths are already resolved against the
 * file's directory, and command-line flags already applied.
 */
export interface EgressConfig {
  /** Where this came from ("ssh-egress.yaml", or "command line"), for messages. */
  source: string;
  ssh: SshSettings;
  healthCheck: HealthCheckSettings;
  inventory: InventorySource;
  /** Service ClusterIP ranges. */
  serviceCIDRs: string[];
  policy: DestinationPolicyOptions;
  dialTimeoutMs: number;
  /** Resource bounds; absent fields (or all of it) mean the pool's and front ends' defaults. */
  limits?: LimitSettings;
  listeners: ListenerSettings;
  /** Share of tunnels (0..1) that must be READY for /readyz to answer 200. Default 0.5. */
  readyFraction: number;
  /** Not ready once the inventory has failed to sync for longer than this; absent: staleness never makes it not ready. */
  maxInventoryStalenessSeconds?: number;
  /** How long SIGTERM lets open streams finish. Default 30000. */
  drainGraceMs: number;
  log: LogSettings;
}

/** The `limits:` section; defaults are POOL_DEFAULTS and CONNECTION_LIMIT_DEFAULTS. */
export interface LimitSettings {
  maxPendingDials?: number;
  maxPendingDialsPerTunnel?: number;
  maxStreamsPerTunnel?: number;
  /** Per proxy front end (each listener counts its own). */
  maxConnections?: number;
  maxConnectionsPerClient?: number;
  /** The pool's maxWriteBufferBytes. */
  maxWriteBufferBytesPerTunnel?: number;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/**
 * Absent fields mean "the program's default": the daemon logs info as JSON (createLogger's defaults), the
 * one-shot CLI commands warn as text, so a ProxyCommand stays quiet unless asked.
 */
export interface LogSettings {
  level?: LogLevel;
  format?: 'json' | 'text';
}

/** The pool options that come from config (the rest, like the logger, is added by the caller). */
export type SshSettings = Pick<
  TunnelPoolOptions,
  | 'user'
  | 'identityFile'
  | 'passphraseFile'
  | 'passphraseEnv'
  | 'agentSocket'
  | 'knownHostsFile'
  | 'trustOnFirstUseFile'
  | 'insecureIgnoreHostKeys'
  | 'connectTimeoutMs'
  | 'handshakeTimeoutMs'
  | 'keepaliveIntervalMs'
  | 'keepaliveCountMax'
  | 'maxConcurrentConnects'
  | 'connectionsPerNode'
  | 'connectionWindowBytes'
  | 'tunnel'
> & { user: string };

/** healthCheck without `tls`: the files are given here and loaded with loadKubeletTls. */
export type HealthCheckSettings = Omit<HealthCheckOptions, 'tls'> & {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
};

export type InventorySource =
  | { kind: 'file'; path: string; addressTypes?: string[] }
  | { kind: 'inline'; nodes: NodeSpec[] }
  /** Live from the API server; paths (kubeconfig) already resolved. */
  | ({ kind: 'kubernetes' } & KubernetesInventorySettings);

export interface ListenerSettings {
  /** HTTP CONNECT (kube-apiserver's egress protocol). */
  connect?: {
    /** Unix socket; created with `mode` (default 0o600). */
    socket?: { path: string; mode: number };
    /** Plain HTTP CONNECT on loopback only, for local tools (`curl -p -x http://127.0.0.1:8131`). */
    tcp?: { host: string; port: number };
    /** TCP with mutual TLS: a client certificate signed by clientCAFile is required. */
    tls?: { host: string; port: number; certFile: string; keyFile: string; clientCAFile: string };
  };
  socks?: {
    /** Loopback TCP ("127.0.0.1:1080"); a non-loopback host is refused unless `users` are set. */
    tcp?: { host: string; port: number };
    socket?: { path: string; mode: number };
    /** RFC 1929 username/password; passwords from files or environment variables, never inline. */
    users?: Array<{ username: string; passwordFile?: string; passwordEnv?: string }>;
  };
  /**
   * Admin HTTP (/healthz /readyz /metrics /status), loopback by default (127.0.0.1:8132). It has no
   * authentication, so a host that is not loopback needs `allowNonLoopback: true`.
   */
  admin?: { host: string; port: number; allowNonLoopback?: boolean };
  /**
   * The SSH listener node agents dial in to (reverse tunnels). It authenticates every connection (agentKeys
   * or certificates from userCAFile), so it is meant to be reachable from the nodes. hostKeyFile is created
   * (ed25519, 0600, with `<file>.pub`) on first start when missing, and never regenerated.
   */
  agents?: { host: string; port: number; hostKeyFile: string; userCAFile?: string };
}
