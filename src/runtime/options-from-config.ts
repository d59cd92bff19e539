/**
 * From EgressConfig to what the library takes: pool options (with the kubelet TLS files read now, so a bad
 * file fails at startup) and dialer options.
 */
import type { EgressConfig } from '../config/config-types.js';
import type { DialerOptions } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import { loadKubeletTls } from '../tls/kubelet-tls.js';
import type { HealthCheckOptions } from '../tunnel/health-check-options.js';
import type { TunnelPoolOptions } from '../tunnel/pool-options.js';

/** Rejects with TlsConfigError when a health-check CA, certificate or key file cannot be used. */
export async function toPoolOptions(config: EgressConfig, logger: Logger): Promise<TunnelPoolOptions> {
  const { caFile, certFile, keyFile, ...check } = config.healthCheck;
  const healthCheck: HealthCheckOptions = { ...check };
  // Without any file the probe keeps its own default (certificate not verified, and reported so).
  if (caFile !== undefined || certFile !== undefined || keyFile !== undefined) {
    healthCheck.tls = await loadKubeletTls({ caFile, certFile, keyFile });
  }
  // One grace period: for streams of a node removed from the inventory, as for a shutdown.
  return { ...config.ssh, ...poolLimits(config), healthCheck, drainGraceMs: config.drainGraceMs, logger };
}

/** The `limits:` the pool enforces (the front ends take maxConnections and maxConnectionsPerClient). */
function poolLimits({ limits = {} }: EgressConfig): Partial<TunnelPoolOptions> {
  const { maxPendingDials, maxPendingDialsPerTunnel, maxStreamsPerTunnel, maxWriteBufferBytesPerTunnel } = limits;
  const options = { maxPendingDials, maxPendingDialsPerTunnel, maxStreamsPerTunnel, maxWriteBufferBytes: maxWriteBufferBytesPerTunnel };
  // Undefined must not override the pool's defaults.
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

export function toDialerOptions(config: EgressConfig, logger: Logger): DialerOptions {
  return { serviceCIDRs: config.serviceCIDRs, policy: config.policy, dialTimeoutMs: config.dialTimeoutMs, logger };
}
