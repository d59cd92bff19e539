/**
 * Keeps a local copy of one API collection current: list, then watch from the list's resourceVersion,
 * as client-go's reflector does. The first list asks for resourceVersion=0, which the API server answers
 * from its watch cache rather than etcd. A refused, dropped or failed watch is retried from the last
 * resourceVersion seen (events and bookmarks advance it) after a backoff with jitter, for as long as it
 * takes: only "410 Gone" (the version, or a list's continue token, was compacted away) lists again, then
 * as a consistent read so the copy cannot go back in time. So an API server restart costs each daemon a
 * watch, not a list. API errors never empty the copy: while the API is away the last known state stands.
 */
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry from 'p-retry';
import { silentLogger, type Logger } from '../log.js';
import { isRecord } from '../util/is-record.js';
import { exponentialBackoff, type RetryPolicy } from '../timing/backoff.js';
import { describeApiError, errorFromStatus, isExpired } from './kube-errors.js';
import type { ListFrom, ListWatch } from './list-watch.js';

export interface ReflectorOptions {
  listWatch: ListWatch;
  logger?: Logger;
  /** First and longest wait between failed list calls (p-retry, randomized). Default 500 and 30000 ms. */
  listRetryMinMs?: number;
  listRetryMaxMs?: number;
  /** One list call (all pages) may take this long. Default 60000 ms. */
  listTimeoutMs?: number;
  /** Delay before resuming after the n-th watch failure in a row. Default 0.5 s doubling to 30 s, ±50 %. */
  watchRetryPolicy?: RetryPolicy;
  /** Asked of the server per watch; client-go picks 5 to 10 minutes at random so watches do not end together. */
  watchTimeoutSeconds?: () => number;
  /** How long past its timeoutSeconds a watch may stay open before it is taken for a dead connection. Default 30000 ms. */
  watchDeadlineGraceMs?: number;
  /** A list error retrying cannot fix (the resource does not exist): give up and emit 'failed'. */
  isFatalListError?: (err: unknown) => boolean;
}

export interface ReflectorStatus {
  synced: boolean;
  resourceVersion: string;
  /** Objects held. */
  size: number;
  lists: number;
  watches: number;
  bookmarks: number;
  /** The last list or watch failure, for /status and logs. */
  lastError: string | undefined;
}

interface ReflectorEvents {
  /** The first list is in. */
  synced: [];
  /** The copy changed (a list or a watch event). */
  changed: [];
  /** A fatal list error: the reflector stopped. */
  failed: [Error];
}

interface WatchOutcome {
  expired: boolean;
  events: number;
  error: unknown;
  durationMs: number;
}

/** A watch that ends cleanly sooner than this without an event counts as a failure, so it cannot spin. */
const MIN_HEALTHY_WATCH_MS = 1000;

export class Reflector extends EventEmitter<ReflectorEvents> {
  private readonly store = new Map<string, unknown>();
  private resourceVersion = '';
  /** What the next list asks for: the watch cache's state at first, a consistent read after a 410. */
  private listFrom: ListFrom = '0';
  private hasSynced = false;
  /** Watch failures in a row; only a watch that makes progress clears it. */
  private watchFailures = 0;
  private counts = { lists: 0, watches: 0, bookmarks: 0 };
  private lastError: string | undefined;
  private readonly log: Logger;
  private readonly retryPolicy: RetryPolicy;
  private lifetime: AbortController | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: ReflectorOptions) {
    super();
    this.log = (options.logger ?? silentLogger()).child({ component: 'kube', resource: options.listWatch.what });
    // A wide jitter: after an API server restart, many daemons' watches come back spread out, not at once.
    this.retryPolicy = options.watchRetryPolicy ?? exponentialBackoff({ initialDelayMs: 500, maxDelayMs: 30_000, jitter: 0.5 });
  }

  /** The objects by name (cluster-scoped collections). */
  objects(): ReadonlyMap<string, unknown> {
    return this.store;
  }

  get synced(): boolean {
    return this.hasSynced;
  }

  start(): void {
    if (this.running) return;
    const lifetime = (this.lifetime = new AbortController());
    this.running = this.run(lifetime.signal).catch((err: unknown) => {
      this.log.error('reflector stopped by a bug', { error: describeApiError(err) });
    });
  }

  /** Ends the watch and any wait; resolves once the loop has stopped. */
  async stop(): Promise<void> {
    this.lifetime?.abort(new Error('reflector stopped'));
    await this.running;
    this.running = undefined;
  }

  status(): ReflectorStatus {
    return { synced: this.hasSynced, resourceVersion: this.resourceVersion, size: this.store.size, ...this.counts, lastError: this.lastError };
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.listAndReplace(signal);
      } catch (err) {
        if (signal.aborted) return;
        const error = err instanceof Error ? err : new Error(String(err));
        this.lastError = describeApiError(err);
        this.log.error(`cannot list ${this.options.listWatch.what}; giving up`, { error: this.lastError });
        this.emit('failed', error);
        return;
      }
      await this.watchUntilExpired(signal);
    }
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const { listWatch } = this.options;
    const timeoutMs = this.options.listTimeoutMs ?? 60_000;
    const result = await pRetry(
      async () => {
        try {
          const from = this.listFrom;
          return await untilAborted((s) => listWatch.list(s, from), AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]));
        } catch (err) {
          // p-retry never retries a TypeError; a malformed answer is as transient as a refused connection.
          throw err instanceof TypeError ? new Error(err.message, { cause: err }) : err;
        }
      },
      {
        retries: Infinity,
        minTimeout: this.options.listRetryMinMs ?? 500,
        maxTimeout: this.options.listRetryMaxMs ?? 30_000,
        randomize: true,
        signal,
        shouldRetry: ({ error }) => !(this.options.isFatalListError?.(error) ?? false),
        onFailedAttempt: ({ error, attemptNumber }) => {
          if (signal.aborted || this.options.isFatalListError?.(error)) return;
          // An expired continue token (or version): start again from a consistent read.
          if (isExpired(error)) this.listFrom = '';
          this.lastError = describeApiError(error);
          this.log.warn(`listing ${listWatch.what} failed; retrying`, { attempt: attemptNumber, error: this.lastError });
        },
      },
    );
    this.counts.lists += 1;
    this.store.clear();
    for (const item of result.items) {
      const name = nameOf(item);
      if (name !== undefined) this.store.set(name, item);
    }
    this.resourceVersion = result.resourceVersion;
    this.lastError = undefined;
    this.log.debug(`listed ${listWatch.what}`, { count: this.store.size, resourceVersion: this.resourceVersion, from: this.listFrom === '0' ? 'watch cache' : 'consistent read' });
    const first = !this.hasSynced;
    this.hasSynced = true;
    this.emit('changed');
    if (first) this.emit('synced');
  }

  /**
   * Watches, resuming after failures with a growing backoff, until the resourceVersion expires: then the
   * caller lists again (at once, as a consistent read). Nothing else lists again, however long the API is away.
   */
  private async watchUntilExpired(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const outcome = await this.watchOnce(signal);
      if (signal.aborted) return;
      if (outcome.expired) {
        this.listFrom = '';
        this.log.info(`resourceVersion ${this.resourceVersion} expired (410 Gone); listing ${this.options.listWatch.what} again`);
        return;
      }
      // Progress (an event, or a clean end after a while) clears the count; an error after progress counts once.
      const progressed = outcome.events > 0 || (outcome.error === undefined && outcome.durationMs >= MIN_HEALTHY_WATCH_MS);
      if (progressed) this.watchFailures = 0;
      if (outcome.error !== undefined || !progressed) this.watchFailures += 1;
      if (outcome.error !== undefined) {
        this.lastError = describeApiError(outcome.error);
        const level = this.watchFailures > 1 ? 'warn' : 'info';
        this.log[level](`watch of ${this.options.listWatch.what} ended; resuming from the last version`, {
          resourceVersion: this.resourceVersion,
          failuresInARow: this.watchFailures,
          error: this.lastError,
        });
      }
      if (this.watchFailures === 0) continue;
      try {
        await sleep(this.retryPolicy(this.watchFailures, outcome.error) ?? 30_000, undefined, { signal });
      } catch {
        return; // stopped
      }
    }
  }

  private watchOnce(signal: AbortSignal): Promise<WatchOutcome> {
    const started = performance.now();
    const timeoutSeconds = this.options.watchTimeoutSeconds?.() ?? 300 + Math.floor(Math.random() * 300);
    this.counts.watches += 1;
    return new Promise((resolve) => {
      let settled = false;
      let events = 0;
      let handle: { abort(): void } | undefined;
      const finish = (expired: boolean, error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        signal.removeEventListener('abort', onAbort);
        handle?.abort();
        resolve({ expired, events, error, durationMs: performance.now() - started });
      };
      const onAbort = (): void => finish(false, signal.reason);
      // The server ends the watch after timeoutSeconds; one still open well after that (or one whose
      // request was never answered) sits on a dead connection.
      const deadline = setTimeout(
        () => finish(false, new Error(`watch still open ${timeoutSeconds}s after it should have ended: connection presumed dead`)),
        timeoutSeconds * 1000 + (this.options.watchDeadlineGraceMs ?? 30_000),
      );
      signal.addEventListener('abort', onAbort, { once: true });
      this.options.listWatch
        .watch(this.resourceVersion, timeoutSeconds, {
          event: (type, object) => {
            if (settled) return;
            const result = this.apply(type, object);
            if (result === 'applied') events += 1;
            else if (result !== 'ignored') finish(isExpired(result), result);
          },
          done: (err) => finish(isExpired(err), err ?? undefined),
        })
        .then(
          (opened) => {
            handle = opened;
            // A watch that opened after this attempt was given up is closed, not leaked.
            if (settled) opened.abort();
          },
          (err: unknown) => finish(isExpired(err), err),
        );
    });
  }

  /** One watch event into the copy; an ERROR event comes back as its Status made an Error. */
  private apply(type: string, object: unknown): 'applied' | 'ignored' | Error {
    switch (type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED': {
        const name = nameOf(object);
        if (name === undefined) {
          this.log.warn(`${type} event without metadata.name ignored`);
          return 'ignored';
        }
        if (type === 'DELETED') this.store.delete(name);
        else this.store.set(name, object);
        this.advance(object);
        this.emit('changed');
        return 'applied';
      }
      case 'BOOKMARK':
        // A bookmark carries only metadata.resourceVersion: where to resume without replaying anything.
        this.advance(object);
        this.counts.bookmarks += 1;
        return 'applied';
      case 'ERROR':
        return errorFromStatus(object);
      default:
        this.log.debug('unknown watch event type ignored', { type });
        return 'ignored';
    }
  }

  private advance(object: unknown): void {
    const version = isRecord(object) && isRecord(object.metadata) ? object.metadata.resourceVersion : undefined;
    if (typeof version === 'string' && version !== '') this.resourceVersion = version;
  }
}

/** Runs `call` with `signal`, and gives up when the signal aborts even if the call ignores it. */
function untilAborted<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    call(signal).then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function nameOf(object: unknown): string | undefined {
  const name = isRecord(object) && isRecord(object.metadata) ? object.metadata.name : undefined;
  return typeof name === 'string' && name !== '' ? name : undefined;
}
