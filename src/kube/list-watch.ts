/**
 * The two calls a reflector needs from the API server, as an interface so the loop can be tested with a
 * fake; client-node-list-watch.ts implements them for cluster-scoped collections (nodes, servicecidrs).
 */

/** "0": any recent state, from the watch cache; "": the latest state, read from etcd. */
export type ListFrom = '0' | '';

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
  /**
   * Every object (all pages) and the resourceVersion to watch from. `resourceVersion` "0" may be answered
   * from the API server's watch cache (cheap, possibly a little stale); "" asks for a consistent read (etcd).
   */
  list(signal: AbortSignal, resourceVersion: ListFrom): Promise<ListResult>;
  /** Starts a watch from `resourceVersion`; resolves once the stream is open (or has already failed). */
  watch(resourceVersion: string, timeoutSeconds: number, handlers: WatchHandlers): Promise<WatchHandle>;
}
