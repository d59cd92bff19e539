/**
 * ListWatch over @kubernetes/client-node for cluster-scoped collections: pages through a typed list call,
 * watches with client-node's Watch. The module is loaded at the first list or watch, so building one costs
 * nothing and needs no await.
 */
import type { ConfigurationOptions, KubeConfig, ObservableMiddleware } from '@kubernetes/client-node';
import { loadClientNode, type ClientNode } from './client-node-module.js';
import type { KubeConfigShape } from './kube-config-shape.js';
import type { ListPage, ListWatch } from './list-watch.js';

export type PageRequest = { limit: number; _continue?: string; labelSelector?: string; resourceVersion?: string };

/** Lists one page: client-node's typed call (CoreV1Api.listNode and the like). */
export type PageLister = (request: PageRequest, signal: AbortSignal) => Promise<ListPage>;

export interface CollectionOptions {
  /** "nodes", for messages. */
  what: string;
  /** The collection's URL path: "/api/v1/nodes". */
  path: string;
  /** Makes the page lister once client-node is loaded. */
  pages(k8s: ClientNode, kc: KubeConfig): PageLister;
  labelSelector?: string;
  /** Items per page: the API server answers big lists in chunks. Default 500, as client-go. */
  pageSize?: number;
}

export function clientNodeListWatch(shape: KubeConfigShape, options: CollectionOptions): ListWatch {
  // The public types describe a KubeConfig by shape; whoever made this one made it with client-node.
  const kc = shape as KubeConfig;
  let parts: Promise<{ watcher: InstanceType<ClientNode['Watch']>; listPage: PageLister }> | undefined;
  const ready = (): Promise<{ watcher: InstanceType<ClientNode['Watch']>; listPage: PageLister }> =>
    (parts ??= loadClientNode().then((k8s) => ({ watcher: new k8s.Watch(kc), listPage: options.pages(k8s, kc) })));
  const pageSize = options.pageSize ?? 500;
  const selector = options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector };
  return {
    what: options.what,
    async list(signal, from) {
      const { listPage } = await ready();
      const items: unknown[] = [];
      let resourceVersion = '';
      let token: string | undefined;
      do {
        // The watch cache answers resourceVersion=0 in one page whatever the limit; without it (or for ""),
        // etcd answers in pages. A continue token names its snapshot, and the API refuses a version beside it.
        const at = token ? { _continue: token } : from === '' ? {} : { resourceVersion: from };
        const page = await listPage({ limit: pageSize, ...selector, ...at }, signal);
        items.push(...page.items);
        // Every page carries the snapshot's resourceVersion; the last one is as good as the first.
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?._continue || undefined;
      } while (token !== undefined);
      return { items, resourceVersion };
    },
    async watch(resourceVersion, timeoutSeconds, handlers) {
      const { watcher } = await ready();
      const query = { ...selector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds };
      const controller = await watcher.watch(options.path, query, (type, object) => handlers.event(type, object), (err) => handlers.done(err ?? null));
      return { abort: () => controller.abort() };
    },
  };
}

/**
 * Per-call client-node options that make a generated API call abortable: the middleware runs after
 * authentication and hands the signal to node-fetch.
 */
export function withSignal(k8s: Pick<ClientNode, 'Observable'>, signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new k8s.Observable(Promise.resolve(context));
    },
    post: (response) => new k8s.Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** Nodes: CoreV1Api.listNode pages, Watch on /api/v1/nodes. */
export function nodeListWatch(kc: KubeConfigShape, labelSelector?: string): ListWatch {
  return clientNodeListWatch(kc, {
    what: 'nodes',
    path: '/api/v1/nodes',
    labelSelector,
    pages: (k8s, config) => {
      const api = config.makeApiClient(k8s.CoreV1Api);
      return (request, signal) => api.listNode(request, withSignal(k8s, signal));
    },
  });
}

/** ServiceCIDRs: NetworkingV1Api.listServiceCIDR pages, Watch on their path. */
export function serviceCidrListWatch(kc: KubeConfigShape): ListWatch {
  return clientNodeListWatch(kc, {
    what: 'servicecidrs',
    path: '/apis/networking.k8s.io/v1/servicecidrs',
    pages: (k8s, config) => {
      const api = config.makeApiClient(k8s.NetworkingV1Api);
      return (request, signal) => api.listServiceCIDR(request, withSignal(k8s, signal));
    },
  });
}
