import type { EgressConfig } from '../config/config-types.js';
import { Dialer, type DialerOptions } from '../dialer/dialer.js';
import { KubernetesInventoryRunner } from '../kube/inventory-runner.js';
import type { InventoryStatus } from '../frontends/inventory-status.js';
import type { Logger } from '../log.js';
import { TunnelPool } from '../tunnel/pool.js';
import type { TunnelPoolOptions } from '../tunnel/pool-options.js';
import { loadedInventoryStatus, watchedInventoryStatus } from './inventory-status-of.js';
import { kubernetesSettingsOf, loadNodes } from './load-nodes.js';
import { toDialerOptions, toPoolOptions } from './options-from-config.js';

export interface EgressRuntimeOptions {
  logger: Logger;
  /** Pool options that beat the config's (a one-shot command connects lazily, without probes). */
  poolOverrides?: Partial<TunnelPoolOptions>;
  /**
   * A `kubernetes` inventory is watched (the daemon: nodes follow the cluster, service ranges are
   * discovered) rather than listed once at each apply().
   */
  watchKubernetes?: boolean;
}

/**
 * The one setup path from a config to working tunnels: config -> pool -> inventory -> dialer. The daemon
 * runs on it (and reloads through apply()), and so does `ssh-egress dial`.
 */
export class EgressRuntime {
  /** Runs the live inventory while `inventory.kubernetes` is configured (with watchKubernetes). */
  private readonly kube: KubernetesInventoryRunner | undefined;
  /** The config last applied; discovered service ranges are added to its dialer options. */
  private config: EgressConfig;
  /** The inventory read at the last apply(), when it is not watched. */
  private loaded: InventoryStatus | undefined;

  private constructor(
    config: EgressConfig,
    readonly pool: TunnelPool,
    readonly dialer: Dialer,
    private readonly log: Logger,
    watchKubernetes: boolean,
    private readonly poolOverrides: Partial<TunnelPoolOptions> = {},
  ) {
    this.config = config;
    this.kube = watchKubernetes
      ? new KubernetesInventoryRunner(
          { setNodes: (nodes) => pool.setNodes(nodes), serviceCIDRsChanged: () => dialer.reconfigure(this.dialerOptions(this.config)) },
          log,
        )
      : undefined;
  }

  /**
   * The pool and dialer of `config`, with no nodes yet: apply() brings them, so a caller can listen to the
   * pool's events (metrics) from the first tunnel on. Rejects when a health-check TLS file is unusable.
   */
  static async create(config: EgressConfig, options: EgressRuntimeOptions): Promise<EgressRuntime> {
    const { logger } = options;
    const pool = new TunnelPool({ ...(await toPoolOptions(config, logger)), ...options.poolOverrides });
    const dialer = new Dialer(pool, toDialerOptions(config, logger));
    return new EgressRuntime(config, pool, dialer, logger, options.watchKubernetes ?? false, options.poolOverrides);
  }

  /** The live Kubernetes inventory (status, synced), when it is watched. */
  get kubernetes(): KubernetesInventoryRunner['watch'] {
    return this.kube?.watch;
  }

  /**
   * Applies the inventory, service CIDRs, policy, dial timeout and the pool's settings (ssh, healthCheck,
   * the pool's limits; see TunnelPool.prepareOptions) of `config`. Everything that can fail (a kubeconfig,
   * the inventory file, the dialer's rules, a key or health-check TLS file) is checked before anything
   * changes, so a rejected config leaves the running one in force.
   */
  async apply(config: EgressConfig): Promise<void> {
    const kubernetes = kubernetesSettingsOf(config.inventory);
    const applyPool = await this.pool.prepareOptions({ ...(await toPoolOptions(config, this.log)), ...this.poolOverrides });
    const applyKube = await this.kube?.prepare(kubernetes);
    const nodes = kubernetes && this.kube ? undefined : await loadNodes(config.inventory, { logger: this.log });
    this.dialer.reconfigure(this.dialerOptions(config));
    applyPool();
    // Set before the watch starts: service ranges it discovers join this config's, not the previous one's.
    this.config = config;
    this.loaded = nodes && loadedInventoryStatus(config.inventory, nodes.length, Date.now());
    if (nodes) this.pool.setNodes(nodes);
    await applyKube?.();
  }

  /** The inventory's source and health (how current it is, the last API error), for /status and /readyz. */
  inventoryStatus(): InventoryStatus | undefined {
    const watch = this.kube?.watch;
    return watch ? watchedInventoryStatus(this.config.inventory, watch.inventory) : this.loaded;
  }

  /** Stops the inventory watch and closes every tunnel. */
  async close(): Promise<void> {
    await this.kube?.stop();
    await this.pool.close();
  }

  /** The config's dialer options, with service ranges discovered from the cluster added. */
  private dialerOptions(config: EgressConfig): DialerOptions {
    const base = toDialerOptions(config, this.log);
    return this.kube ? this.kube.dialerOptions(base) : base;
  }
}
