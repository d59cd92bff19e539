/**
 * How current a reflector's copy is, seen from the calls it makes: the ListWatch is wrapped, so this
 * reads every list, watch open, event and failure without depending on the reflector's retry logic.
 * The reflector's own lastError stays set until the next list; this one clears at the first success.
 */
import { describeApiError, errorFromStatus } from './kube-errors.js';
import { inventoryErrorCode, type InventoryErrorCode } from './inventory-error-code.js';
import type { ListWatch } from './list-watch.js';

export interface ListWatchFailure {
  code: InventoryErrorCode;
  message: string;
  /** Epoch ms. */
  at: number;
}

export interface ListWatchHealthStatus {
  /**
   * Epoch ms of the last moment the copy was known current: a list answered, a watch opened from our
   * resourceVersion, an event or bookmark arrived, or a watch ended cleanly.
   */
  lastSyncAt: number | undefined;
  /** The last failure, until the next success clears it. */
  lastError: ListWatchFailure | undefined;
  /** Epoch ms of the first failure since the last success: how long the copy may have been stale. */
  failingSince: number | undefined;
  /** Failures so far, by code (InventoryErrorCode). */
  errors: Record<string, number>;
}

export class ListWatchHealth {
  private lastSyncAt: number | undefined;
  private lastError: ListWatchFailure | undefined;
  private failingSince: number | undefined;
  private readonly errors = new Map<InventoryErrorCode, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** `listWatch` with every outcome recorded here. Calls the caller aborts are not failures. */
  track(listWatch: ListWatch): ListWatch {
    return {
      what: listWatch.what,
      // Every argument is passed on, so a change to what the reflector asks for needs no change here.
      list: async (...args: Parameters<ListWatch['list']>) => {
        const [signal] = args;
        try {
          const result = await listWatch.list(...args);
          this.succeeded();
          return result;
        } catch (err) {
          if (!signal.aborted) this.failed(err);
          throw err;
        }
      },
      watch: async (resourceVersion, timeoutSeconds, handlers) => {
        let aborted = false;
        let ended = false;
        const end = (err: unknown): void => {
          if (ended || aborted) return;
          ended = true;
          if (err === null || err === undefined) this.succeeded();
          else this.failed(err);
        };
        let handle;
        try {
          handle = await listWatch.watch(resourceVersion, timeoutSeconds, {
            event: (type, object) => {
              // An ERROR event ends the watch (the reflector aborts it): record it before that abort.
              if (type === 'ERROR') end(errorFromStatus(object));
              else if (!ended && !aborted) this.succeeded();
              handlers.event(type, object);
            },
            done: (err) => {
              end(err);
              handlers.done(err);
            },
          });
        } catch (err) {
          end(err);
          throw err;
        }
        // Opened from our resourceVersion: the server has nothing older for us.
        if (!ended) this.succeeded();
        return {
          abort: () => {
            aborted = true;
            handle.abort();
          },
        };
      },
    };
  }

  status(): ListWatchHealthStatus {
    return {
      lastSyncAt: this.lastSyncAt,
      lastError: this.lastError && { ...this.lastError },
      failingSince: this.failingSince,
      errors: Object.fromEntries(this.errors),
    };
  }

  private succeeded(): void {
    this.lastSyncAt = this.now();
    this.lastError = undefined;
    this.failingSince = undefined;
  }

  private failed(err: unknown): void {
    const code = inventoryErrorCode(err);
    const at = this.now();
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    this.lastError = { code, message: describeApiError(err), at };
    this.failingSince ??= at;
  }
}
