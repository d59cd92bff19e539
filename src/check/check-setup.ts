import type tls from 'node:tls';
import { silentLogger, type Logger } from '../log.js';
import { resolvePoolOptions, type TunnelPoolOptions } from '../tunnel/pool-options.js';
import { poolSsh } from '../tunnel/pool-ssh.js';
import { createSsh2Connector } from '../ssh/ssh2-connector.js';
import type { NodeCheckOptions } from './check-node.js';

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
  const ssh = poolSsh(resolved, options.logger ?? silentLogger());
  await Promise.all([ssh.credentials(), ssh.hostKeyPolicy()]);
  const base = {
    ...ssh.connectorOptions,
    connectTimeoutMs: options.connectTimeoutMs,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    keepaliveIntervalMs: 0, // one short check: keepalive would only add traffic
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
