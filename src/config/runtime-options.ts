/**
 * From EgressConfig to what the library takes: pool options (with the kubelet TLS files read now, so a bad
 * file fails at startup), dialer options, and the inventory's nodes.
 */
import type { DialerOptions } from '../dialer/dialer.js';
import { listKubeNodes } from '../kube/list-nodes.js';
import type { Logger } from '../log.js';
import { loadInventory } from '../nodes/load-inventory.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { loadKubeletTls } from '../tls/kubelet-tls.js';
import type { HealthCheckOptions } from '../tunnel/health-check-options.js';
import type { TunnelPoolOptions } from '../tunnel/pool-options.js';
import type { EgressConfig, InventorySource } from './config-types.js';

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

/**
 * The nodes the inventory names: read from its file each call (so a reload sees changes), the inline list,
 * or one list call to the Kubernetes API (the daemon watches instead: KubernetesClusterWatch). `logger`
 * gets the warnings about Kubernetes nodes left out.
 */
export async function loadNodes(inventory: InventorySource, options: { logger?: Logger } = {}): Promise<NodeSpec[]> {
  if (inventory.kind === 'inline') return inventory.nodes.map((n) => structuredClone(n));
  if (inventory.kind === 'kubernetes') {
    const { kind: _kind, ...settings } = inventory;
    return listKubeNodes(settings, options);
  }
  return loadInventory(inventory.path, inventory.addressTypes === undefined ? {} : { addressTypes: inventory.addressTypes });
}
