import { isPermanentFailure } from '../errors.js';

/**
 * Decides how long a tunnel waits before its next connection attempt: `attempt` counts consecutive
 * failures from 1. Returns null to stop retrying. Pure, so it can be tested without clocks or sockets.
 */
export type RetryPolicy = (attempt: number, error: unknown) => number | null;

export interface BackoffOptions {
  /** Delay after the first failure. Default 1000 ms. */
  initialDelayMs?: number;
  /** Growth per further failure. Default 2. */
  multiplier?: number;
  /** Cap on the delay. Default 30000 ms. */
  maxDelayMs?: number;
  /** Spread, as a fraction of the delay, so that many tunnels do not retry in lockstep. Default 0.2. */
  jitter?: number;
  /**
   * Delay after a failure that retrying cannot fix (authentication refused, host key mismatch): the tunnel
   * is parked this long unless the config changes or it is reconnected by hand. Default 300000 ms.
   */
  permanentFailureDelayMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = {
  initialDelayMs: 1000,
  multiplier: 2,
  maxDelayMs: 30_000,
  jitter: 0.2,
  permanentFailureDelayMs: 300_000,
};

export function exponentialBackoff(options: BackoffOptions = {}, random: () => number = Math.random): RetryPolicy {
  const o = { ...DEFAULT_BACKOFF, ...options };
  return (attempt, error) => {
    if (isPermanentFailure(error)) return o.permanentFailureDelayMs;
    // The exponent is capped so huge attempt counts cannot overflow to Infinity (or NaN with a zero start).
    const base = Math.min(o.maxDelayMs, o.initialDelayMs * o.multiplier ** Math.min(64, Math.max(0, attempt - 1)));
    const spread = base * o.jitter * (2 * random() - 1);
    return Math.max(0, Math.round(Math.min(o.maxDelayMs, base + spread)));
  };
}
