/**
 * The daemon's Kubernetes inventory across reloads: the watch keeps running while its settings (and the
 * kubeconfig's content) stay the same, is replaced when they change, and stops when the inventory is no
 * longer `kubernetes`. Replacing lists again before anything changes: until the new list is in, the pool
 * keeps the nodes it has.
 */
import type { DialerOptions } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { KubernetesClusterWatch, settingsFingerprint } from './cluster-watch.js';
import type { KubernetesInventorySettings } from './kube-settings.js';

export interface InventoryRunnerHandlers {
  setNodes(nodes: NodeSpec[]): void;
  /** The discovered service ranges changed: rebuild the dialer options (see dialerOptions). */
  serviceCIDRsChanged(): void;
}

export class KubernetesInventoryRunner {
  private current: KubernetesClusterWatch | undefined;
  private discovered: string[] | undefined;

  constructor(
    private readonly handlers: InventoryRunnerHandlers,
    private readonly logger: Logger,
  ) {}

  /** The running watch, if the inventory is kubernetes. */
  get watch(): KubernetesClusterWatch | undefined {
    return this.current;
  }

  /**
   * Checks the Kubernetes settings now (loading the kubeconfig throws ConfigError) and returns what applies
   * them, so a reload can refuse a bad config before changing anything. Undefined settings (the inventory is
   * not `kubernetes`) stop the watch.
   */
  async prepare(settings: KubernetesInventorySettings | undefined): Promise<() => Promise<void>> {
    const next = await this.watchFor(settings);
    return async () => {
      if (next === this.current) return;
      const old = this.current;
      this.current = next;
      if (old) this.logger.info(next ? 'Kubernetes inventory settings changed: watching again' : 'Kubernetes inventory stopped');
      await old?.stop();
      if (this.discovered !== undefined) {
        this.discovered = undefined;
        this.handlers.serviceCIDRsChanged();
      }
      next?.start();
    };
  }

  /** `base` with the discovered service ranges added to the configured ones. */
  dialerOptions(base: DialerOptions): DialerOptions {
    if (!this.discovered?.length) return base;
    return { ...base, serviceCIDRs: [...new Set([...(base.serviceCIDRs ?? []), ...this.discovered])] };
  }

  async stop(): Promise<void> {
    const old = this.current;
    this.current = undefined;
    await old?.stop();
  }

  private async watchFor(settings: KubernetesInventorySettings | undefined): Promise<KubernetesClusterWatch | undefined> {
    if (settings === undefined) return undefined;
    if (this.current && this.current.fingerprint === settingsFingerprint(settings)) return this.current;
    const watch: KubernetesClusterWatch = await KubernetesClusterWatch.create(
      settings,
      {
        onNodes: (nodes) => {
          if (this.current === watch) this.handlers.setNodes(nodes);
        },
        onServiceCIDRs: (cidrs) => {
          if (this.current !== watch) return;
          this.discovered = cidrs;
          this.handlers.serviceCIDRsChanged();
        },
      },
      { logger: this.logger },
    );
    return watch;
  }
}
