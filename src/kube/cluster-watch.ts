/**
 * What the daemon runs for `inventory.kubernetes`: the live node inventory and, unless turned off,
 * service CIDR discovery, both from one KubeConfig. Reload compares `fingerprint` to decide whether the
 * running watch can stay (same settings, same kubeconfig content) or must be replaced.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { kubeconfigFiles, loadKubeConfig, readIfPresent } from './kube-config.js';
import type { KubeConfigShape } from './kube-config-shape.js';
import { KubeInventory, type KubeInventoryStatus } from './kube-inventory.js';
import type { KubernetesInventorySettings } from './kube-settings.js';
import { ServiceCidrDiscovery } from './service-cidrs.js';

export interface ClusterWatchHandlers {
  onNodes(nodes: NodeSpec[]): void;
  /** Discovered service ranges; undefined when discovery is off or unavailable. */
  onServiceCIDRs?(cidrs: string[] | undefined): void;
}

export interface ClusterWatchOptions {
  logger?: Logger;
  debounceMs?: number;
}

export class KubernetesClusterWatch {
  readonly inventory: KubeInventory;
  readonly fingerprint: string;
  private readonly serviceCidrs: ServiceCidrDiscovery | undefined;

  /** Loads the kubeconfig now, so a bad one is a ConfigError at start or reload, not a warning later. */
  static async create(settings: KubernetesInventorySettings, handlers: ClusterWatchHandlers, options: ClusterWatchOptions = {}): Promise<KubernetesClusterWatch> {
    return new KubernetesClusterWatch(settings, await loadKubeConfig(settings), handlers, options);
  }

  private constructor(settings: KubernetesInventorySettings, kubeConfig: KubeConfigShape, handlers: ClusterWatchHandlers, options: ClusterWatchOptions) {
    this.fingerprint = settingsFingerprint(settings);
    this.inventory = new KubeInventory({ ...settings, kubeConfig, onNodes: handlers.onNodes, logger: options.logger, debounceMs: options.debounceMs });
    if (settings.discoverServiceCIDRs !== false) {
      this.serviceCidrs = new ServiceCidrDiscovery({ kubeConfig, logger: options.logger, onServiceCIDRs: handlers.onServiceCIDRs });
    }
  }

  start(): this {
    this.inventory.start();
    this.serviceCidrs?.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.inventory.stop(), this.serviceCidrs?.stop()]);
  }

  status(): KubeInventoryStatus & { serviceCIDRs: string[] | undefined } {
    return { ...this.inventory.status(), serviceCIDRs: this.serviceCidrs?.current() };
  }
}

/** Settings plus the kubeconfig files' content: a rotated token or a new CA counts as a change. */
export function settingsFingerprint(settings: KubernetesInventorySettings): string {
  const hash = createHash('sha256').update(JSON.stringify(settings, Object.keys(settings).sort()));
  for (const file of kubeconfigFiles(settings)) hash.update(`\0${file}\0${readIfPresent(file) ?? ''}`);
  return hash.digest('hex');
}
