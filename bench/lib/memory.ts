// Memory measurement: a forced GC (when V8 lets us have one) and an RSS sampler for peaks.
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as (() => void) | undefined;

/** Full garbage collection, twice (weak callbacks run in between), then a pause for the allocator. */
export async function settle(): Promise<void> {
  collect?.();
  await new Promise((r) => setTimeout(r, 50));
  collect?.();
}

export const rss = (): number => process.memoryUsage.rss();

/** Samples RSS every `everyMs` until stopped; returns the peak. */
export function rssPeak(everyMs = 10): { stop(): number } {
  let peak = rss();
  const timer = setInterval(() => (peak = Math.max(peak, rss())), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rss());
    },
  };
}

/** RSS and JS heap in use after a full GC: what a set of idle objects costs, compared before and after. */
export async function settledMemory(): Promise<{ rss: number; heap: number }> {
  await settle();
  return { rss: rss(), heap: process.memoryUsage().heapUsed };
}
