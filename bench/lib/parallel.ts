// Many streams at once: the aggregate workload, shared by the sections that compare ways of carrying it.
import { mbps } from './stats.js';
import { transfer, type Direction, type Opener } from './traffic.js';

/** Moves `bytes` in total over `streams` parallel streams, stream i opened by openers[i % openers.length]; MB/s. */
export async function parallel(openers: Opener[], streams: number, dir: Direction, bytes: number): Promise<number> {
  const each = Math.floor(bytes / streams);
  const socks = await Promise.all(Array.from({ length: streams }, (_, i) => openers[i % openers.length]!()));
  try {
    const t0 = performance.now();
    await Promise.all(socks.map((s) => transfer(s, dir, each)));
    return mbps(each * streams, performance.now() - t0);
  } finally {
    for (const s of socks) s.destroy();
  }
}
