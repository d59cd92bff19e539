import { DialAbortedError, DialTimeoutError } from '../errors.js';

export interface Deadline {
  /** The destination as the caller named it, for error messages. */
  target: string;
  signal?: AbortSignal | undefined;
  /** Absolute time (Date.now()) by which the work must be done. */
  deadline: number;
  /** The whole dial's budget, quoted in the timeout error. */
  timeoutMs: number;
}

/**
 * Settles with `work`, or fails with DialTimeoutError at the deadline or DialAbortedError on abort.
 * A result that arrives after that is handed to `discardLate` so it is not leaked.
 */
export function withDeadline<T>(
  work: Promise<T>,
  options: Deadline,
  node: string,
  stage: string,
  discardLate?: (late: T) => void,
): Promise<T> {
  const { signal, deadline, timeoutMs, target } = options;
  if (signal?.aborted) {
    work.then((late) => discardLate?.(late), () => undefined);
    return Promise.reject(new DialAbortedError(target, { node }));
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = (): void => {
      if (finish()) reject(new DialAbortedError(target, { node }));
    };
    const timer = setTimeout(() => {
      if (finish()) reject(new DialTimeoutError(target, timeoutMs, stage, { node }));
    }, Math.max(0, deadline - Date.now()));
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        if (finish()) resolve(value);
        else discardLate?.(value);
      },
      (err: unknown) => {
        if (finish()) reject(err);
      },
    );
  });
}
