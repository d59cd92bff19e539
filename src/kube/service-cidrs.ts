/**
 * Service CIDR discovery. Before Kubernetes 1.33 nothing in the API names the service range: it is a
 * kube-apiserver flag (--service-cluster-ip-range), and the `kubernetes` Service's ClusterIP only shows one
 * address inside it. From 1.33 (networking.k8s.io/v1; beta in 1.31-1.32) ServiceCIDR objects list the
 * ranges ClusterIPs are allocated from, and can be added at run time. This watches them; when the API has
 * no such resource (404) or may not read it (403), discovery reports `undefined` and the configured
 * `cluster.serviceCIDRs` stay the only ones.
 */
import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { silentLogger, type Logger } from '../log.js';
import { normalizeCidr } from '../net/cidr.js';
import { isRecord } from '../util/is-record.js';
import { describeApiError, statusCodeOf } from './kube-errors.js';
import { serviceCidrListWatch } from './client-node-list-watch.js';
import type { KubeConfigShape } from './kube-config-shape.js';
import type { ListWatch } from './list-watch.js';
import { Reflector, type ReflectorOptions } from './reflector.js';

export interface ServiceCidrDiscoveryOptions {
  kubeConfig?: KubeConfigShape;
  /** Replaces the client-node source (tests). */
  listWatch?: ListWatch;
  /** Called with the discovered ranges whenever they change; undefined once discovery is known impossible. */
  onServiceCIDRs?: (cidrs: string[] | undefined) => void;
  logger?: Logger;
  reflector?: Omit<ReflectorOptions, 'listWatch' | 'logger' | 'isFatalListError'>;
}

/** The ranges of a set of ServiceCIDR objects: spec.cidrs of each, canonical, sorted, without repeats. */
export function serviceCidrsOf(objects: Iterable<unknown>): string[] {
  const cidrs = new Set<string>();
  for (const object of objects) {
    const listed = isRecord(object) && isRecord(object.spec) ? object.spec.cidrs : undefined;
    if (!Array.isArray(listed)) continue;
    for (const text of listed) {
      const cidr = normalizeCidr(text);
      if (cidr !== undefined) cidrs.add(cidr);
    }
  }
  return [...cidrs].sort();
}

export class ServiceCidrDiscovery extends EventEmitter<{ serviceCIDRs: [string[] | undefined] }> {
  private readonly reflector: Reflector;
  private readonly log: Logger;
  private cidrs: string[] | undefined;

  constructor(private readonly options: ServiceCidrDiscoveryOptions) {
    super();
    this.log = (options.logger ?? silentLogger()).child({ component: 'kube' });
    const listWatch = options.listWatch ?? serviceCidrListWatch(requireKubeConfig(options));
    this.reflector = new Reflector({
      ...options.reflector,
      listWatch,
      logger: options.logger,
      // 404: the API server predates ServiceCIDRs (or has them off); 403: no RBAC to read them.
      isFatalListError: (err) => statusCodeOf(err) === 404 || statusCodeOf(err) === 403,
    });
    this.reflector.on('changed', () => this.update(serviceCidrsOf(this.reflector.objects().values())));
    this.reflector.on('failed', (err) => {
      const code = statusCodeOf(err);
      const why =
        code === 404
          ? 'the API server has no networking.k8s.io/v1 servicecidrs (Kubernetes before 1.33)'
          : code === 403
            ? 'no permission to list servicecidrs (grant list and watch on servicecidrs.networking.k8s.io)'
            : describeApiError(err);
      this.log.info(`service CIDR discovery unavailable: ${why}; using cluster.serviceCIDRs only`);
      this.update(undefined, true);
    });
  }

  /** The discovered ranges; undefined before the first list or when discovery is unavailable. */
  current(): string[] | undefined {
    return this.cidrs && [...this.cidrs];
  }

  start(): this {
    this.reflector.start();
    return this;
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }

  private update(cidrs: string[] | undefined, force = false): void {
    if (!force && isDeepStrictEqual(cidrs, this.cidrs)) return;
    this.cidrs = cidrs;
    if (cidrs) this.log.info('service CIDRs discovered from ServiceCIDR objects', { serviceCIDRs: cidrs });
    this.options.onServiceCIDRs?.(this.current());
    this.emit('serviceCIDRs', this.current());
  }
}

function requireKubeConfig(options: ServiceCidrDiscoveryOptions): KubeConfigShape {
  if (!options.kubeConfig) throw new TypeError('ServiceCidrDiscovery needs kubeConfig (or listWatch)');
  return options.kubeConfig;
}
