import type tls from 'node:tls';
import { silentLogger, type Logger } from '../log.js';
import { loadCredentials, loadHostKeyPolicy } from '../tunnel/pool-credentials.js';
import { POOL_DEFAULTS, resolvePoolOptions, type TunnelPoolOptions } from '../tunnel/pool-options.js';
import { createSsh2Connector } from '../ssh/ssh2-connector.js';
import type { NodeCheckOptions } from './check-node.js';

/** Quick retries when sshd drops a handshake before its banner (MaxStartups), as the pool does. */
const DROPPED_HANDSHAKE_RETRIES = 2;

export interface CheckSetupOptions {
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  stepTimeoutMs: number;
  /** Kubelet TLS (loadKubeletTls); undefined skips the channel and kubelet steps. */
  kubeletTls: tls.ConnectionOptions | undefined;
  kubeletPath?: string;
  logger?: Logger;
}

/**
 * The check's options from the same pool options the daemon uses: same credentials, host-key policy
 * (known_hosts, pins, trust on first use) and connector as the tunnels, so a passing check means the
 * pool will connect too. The key and known_hosts are read now: an unusable one rejects before any node
 * is contacted (KeyError, KnownHostsError), rather than failing every node alike.
 */
export async function prepareCheck(pool: TunnelPoolOptions, options: CheckSetupOptions): Promise<NodeCheckOptions> {
  const resolved = resolvePoolOptions(pool);
  const logger = options.logger ?? silentLogger();
  const credentials = loadCredentials(resolved);
  const hostKeyPolicy = loadHostKeyPolicy(resolved, logger);
  await Promise.all([credentials(), hostKeyPolicy()]);
  const base = {
    user: resolved.user,
    credentials,
    hostKeyPolicy,
    connectTimeoutMs: options.connectTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    keepaliveIntervalMs: 0, // one short check: keepalive would only add traffic
    keepaliveCountMax: POOL_DEFAULTS.keepaliveCountMax,
    maxWriteBufferBytes: POOL_DEFAULTS.maxWriteBufferBytes,
    connectionWindowBytes: POOL_DEFAULTS.connectionWindowBytes,
    droppedHandshakeRetries: DROPPED_HANDSHAKE_RETRIES,
    logger,
  };
  return {
    connectorFor: (observer) => createSsh2Connector({ ...base, observer }),
    user: resolved.user,
    connectTimeoutMs: options.connectTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    stepTimeoutMs: options.stepTimeoutMs,
    kubelet: options.kubeletTls && { tls: options.kubeletTls, path: options.kubeletPath ?? '/healthz' },
  };
}
