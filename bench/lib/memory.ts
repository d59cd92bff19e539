// Memory measurement: a forced GC (when V8 lets us have one) and an RSS sampler for peaks.
import { readFileSync } from 'node:fs';
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

/** Another process's resident set now and at its peak (VmRSS, VmHWM from /proc), in bytes. */
export function processMemory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}
