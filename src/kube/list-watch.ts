/**
 * The two calls a reflector needs from the API server, as an interface so the loop can be tested with a
 * fake, and their client-node implementation for cluster-scoped collections (nodes, servicecidrs).
 */
import { Observable, Watch, type ConfigurationOptions, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';

/** One page of a list call, as client-node returns it (typed objects, or plain JSON). */
export interface ListPage {
  items: unknown[];
  metadata?: { resourceVersion?: string; _continue?: string } | undefined;
}

export interface ListResult {
  items: unknown[];
  /** The collection's resourceVersion: where a watch starts so that nothing between is missed. */
  resourceVersion: string;
}

export interface WatchHandlers {
  /** ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and the object (a Status for ERROR). */
  event(type: string, object: unknown): void;
  /** The stream ended: null when the server closed it cleanly, else why. Called once. */
  done(err: unknown): void;
}

export interface WatchHandle {
  abort(): void;
}

export interface ListWatch {
  /** What is listed, for messages: "nodes". */
  readonly what: string;
  /** Every object (all pages) and the resourceVersion to watch from. */
  list(signal: AbortSignal): Promise<ListResult>;
  /** Starts a watch from `resourceVersion`; resolves once the stream is open (or has already failed). */
  watch(resourceVersion: string, timeoutSeconds: number, handlers: WatchHandlers): Promise<WatchHandle>;
}

export interface CollectionOptions {
  /** "nodes", for messages. */
  what: string;
  /** The collection's URL path: "/api/v1/nodes". */
  path: string;
  /** One page of the list: client-node's typed call (CoreV1Api.listNode and the like). */
  listPage(request: { limit: number; _continue?: string; labelSelector?: string }, signal: AbortSignal): Promise<ListPage>;
  labelSelector?: string;
  /** Items per page: the API server answers big lists in chunks. Default 500, as client-go. */
  pageSize?: number;
}

/** A ListWatch over client-node: pages through the typed list call, watches with client-node's Watch. */
export function clientNodeListWatch(kc: KubeConfig, options: CollectionOptions): ListWatch {
  const watcher = new Watch(kc);
  const pageSize = options.pageSize ?? 500;
  const selector = options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector };
  return {
    what: options.what,
    async list(signal) {
      const items: unknown[] = [];
      let resourceVersion = '';
      let token: string | undefined;
      do {
        const page = await options.listPage({ limit: pageSize, ...selector, ...(token && { _continue: token }) }, signal);
        items.push(...page.items);
        // Every page carries the snapshot's resourceVersion; the last one is as good as the first.
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?._continue || undefined;
      } while (token !== undefined);
      return { items, resourceVersion };
    },
    async watch(resourceVersion, timeoutSeconds, handlers) {
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
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
