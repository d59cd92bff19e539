/**
 * The node inventory, live from the API server: a reflector over Nodes, each mapped to a NodeSpec, and
 * the whole set handed to `onNodes` (pool.setNodes) whenever it changes. Bursts of events within
 * `debounceMs` apply once; a set equal to the last one is not handed on again.
 */
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { portRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { apiServerOf } from './kube-config.js';
import type { KubernetesInventorySettings } from './kube-settings.js';
import { nodeListWatch } from './client-node-list-watch.js';
import type { KubeConfigShape } from './kube-config-shape.js';
import type { ListWatch } from './list-watch.js';
import { ListWatchHealth, type ListWatchHealthStatus } from './list-watch-health.js';
import { mapNodes } from './node-mapping.js';
import { Reflector, type ReflectorOptions, type ReflectorStatus } from './reflector.js';

export interface KubeInventoryOptions extends Pick<KubernetesInventorySettings, 'labelSelector' | 'readyOnly' | 'addressTypes' | 'sshPort'> {
  /** The API connection (loadKubeConfig). Not needed when `listWatch` is given. */
  kubeConfig?: KubeConfigShape;
  /** Replaces the client-node source (tests). */
  listWatch?: ListWatch;
  /** Called with the full node set after the first list and after every change. */
  onNodes?: (nodes: NodeSpec[]) => void;
  /** Events within this window apply as one change. Default 100 ms. */
  debounceMs?: number;
  logger?: Logger;
  /** Retry and timeout tuning of the list/watch loop. */
  reflector?: Omit<ReflectorOptions, 'listWatch' | 'logger' | 'isFatalListError'>;
}

export interface KubeInventoryStatus extends ReflectorStatus {
  /** Nodes in the current set. */
  nodes: number;
  /** Nodes left out (or kept at a previous spec), with the reason. */
  problems: Record<string, string>;
  notReady: string[];
  /** Last sync, last failure (cleared by the next success) and failure counts: /status, /readyz, /metrics. */
  health: ListWatchHealthStatus;
}

interface KubeInventoryEvents {
  /** The node set changed (also after the first list). */
  nodes: [NodeSpec[]];
  /** The first list is applied. */
  synced: [NodeSpec[]];
}

export class KubeInventory extends EventEmitter<KubeInventoryEvents> {
  /** Resolves with the first node set; rejects if stop() comes first. */
  readonly synced: Promise<NodeSpec[]>;
  /** The API server's URL, when the inventory was given a kubeConfig. */
  readonly apiServer: string | undefined;
  private readonly reflector: Reflector;
  private readonly health = new ListWatchHealth();
  private readonly log: Logger;
  private readonly source: string;
  private current: NodeSpec[] = [];
  private problems = new Map<string, string>();
  private notReady: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private emittedOnce = false;
  private stopped = false;
  private settle!: { resolve(nodes: NodeSpec[]): void; reject(err: Error): void };

  constructor(private readonly options: KubeInventoryOptions) {
    super();
    // Wrong here, every node would be left out one warning at a time: refuse it at once instead.
    if (options.addressTypes?.length === 0) throw new ConfigError('addressTypes', 'name at least one address type, e.g. InternalIP');
    if (options.sshPort !== undefined) parseOptions(portRule, options.sshPort, { root: 'sshPort' });
    this.log = (options.logger ?? silentLogger()).child({ component: 'kube' });
    const listWatch = this.health.track(options.listWatch ?? nodeListWatch(requireKubeConfig(options), options.labelSelector));
    this.apiServer = options.kubeConfig ? apiServerOf(options.kubeConfig) : undefined;
    this.source = this.apiServer ? `Kubernetes API ${this.apiServer}` : 'Kubernetes API';
    this.reflector = new Reflector({ ...options.reflector, listWatch, logger: options.logger });
    this.synced = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.synced.catch(() => undefined); // stop() before the first list is no unhandled rejection
    this.reflector.on('changed', () => this.schedule());
    this.reflector.on('synced', () => {
      // The first set goes out at once: the caller is waiting for it.
      this.flush();
      this.log.info('Kubernetes node inventory synced', { nodes: this.current.length, server: this.source });
      this.settle.resolve(this.current);
      this.emit('synced', this.current);
    });
  }

  start(): this {
    this.reflector.start();
    return this;
  }

  /** Stops listening; the last node set stays in nodes(), and nothing more is handed to onNodes. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.settle.reject(new Error('Kubernetes inventory stopped before the first list'));
    await this.reflector.stop();
  }

  /** The current node set, sorted by name. */
  nodes(): NodeSpec[] {
    return this.current.map((n) => structuredClone(n));
  }

  status(): KubeInventoryStatus {
    return {
      ...this.reflector.status(),
      nodes: this.current.length,
      problems: Object.fromEntries(this.problems),
      notReady: [...this.notReady],
      health: this.health.status(),
    };
  }

  private schedule(): void {
    if (this.stopped || !this.reflector.synced || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, this.options.debounceMs ?? 100);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    const previous = new Map(this.current.map((n) => [n.name, n]));
    const mapped = mapNodes(this.reflector.objects(), previous, { ...this.options, source: this.source });
    this.report(mapped.problems, mapped.notReady);
    // Heartbeats and bookmarks change nothing the pool sees: no call for an equal set.
    if (this.emittedOnce && isDeepStrictEqual(mapped.nodes, this.current)) return;
    this.current = mapped.nodes;
    this.emittedOnce = true;
    try {
      this.options.onNodes?.(this.nodes());
    } catch (err) {
      this.log.error('applying the node set failed', { error: (err as Error).message });
    }
    this.emit('nodes', this.nodes());
  }

  /** Logs each node's problem once, when it appears or changes, and when it clears. */
  private report(problems: Map<string, string>, notReady: string[]): void {
    for (const [node, problem] of problems) {
      if (this.problems.get(node) !== problem) this.log.warn(`node ${node}: ${problem}`, { node });
    }
    for (const node of this.problems.keys()) {
      if (!problems.has(node)) this.log.info(`node ${node} is usable again`, { node });
    }
    const wasNotReady = new Set(this.notReady);
    for (const node of notReady) if (!wasNotReady.has(node)) this.log.info(`node ${node} is not Ready: left out (readyOnly)`, { node });
    this.problems = problems;
    this.notReady = notReady;
  }
}

function requireKubeConfig(options: KubeInventoryOptions): KubeConfigShape {
  if (!options.kubeConfig) throw new TypeError('KubeInventory needs kubeConfig (or listWatch)');
  return options.kubeConfig;
}
