// 4. Head-of-line fairness: dial latency on a tunnel while bulk streams saturate it (ours vs OpenSSH -L), and
// memory while 1,000 streams push data through one tunnel (the pool's write-buffer bound vs none).
import { once } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { rss, rssPeak, settle } from './lib/memory.js';
import { startPool } from './lib/pool.js';
import { fmt, verdict, type Table } from './lib/report.js';
import { sshLocalForward } from './lib/sshd.js';
import { figure, mbps, MiB, percentile } from './lib/stats.js';
import { CHUNK, firstByte, tcpOpener, upload, type Direction, type Opener } from './lib/traffic.js';

const ENDLESS = 2 ** 50;
type Load = 'none' | 'up' | 'down';
const SMALL_BUFFER = 128 * 1024;

function drainOrClose(sock: Duplex): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sock.off('drain', done);
      sock.off('close', done);
      resolve();
    };
    sock.on('drain', done);
    sock.on('close', done);
  });
}

/** Keeps `streams` bulk streams busy in one direction until stop(); stop() returns the MB/s they moved. */
async function saturate(open: Opener, streams: number, dir: Direction): Promise<{ stop(): Promise<number> }> {
  const socks = await Promise.all(Array.from({ length: streams }, () => open()));
  let moved = 0;
  let stopped = false;
  const t0 = performance.now();
  const loops = socks.map(async (sock: Duplex) => {
    sock.on('error', () => undefined);
    const header = Buffer.alloc(9);
    header.write(dir === 'up' ? 'U' : 'D', 0);
    header.writeBigUInt64BE(BigInt(ENDLESS), 1);
    sock.write(header);
    if (dir === 'down') {
      sock.on('data', (c: Buffer) => (moved += c.length));
      await once(sock, 'close');
      return;
    }
    while (!stopped && !sock.destroyed) {
      moved += CHUNK.length;
      if (!sock.write(CHUNK)) await drainOrClose(sock);
    }
  });
  return {
    async stop() {
      stopped = true;
      const rate = mbps(moved, performance.now() - t0);
      for (const s of socks) s.destroy();
      await Promise.allSettled(loops);
      return rate;
    },
  };
}

export const fairness: Benchmark = {
  name: 'fairness',
  async run(env, options, log) {
    const node = env.nodes[0]!;
    const { bulk, echo } = env.peer.ports;
    const runs = Math.min(options.runs, 3);
    const dials = scaled(300, options, 20 * runs);
    const ours = await startPool(env.keys, [node.spec]);
    // The same with a smaller write-buffer bound, to show what it does to an upload's queue.
    const small = await startPool(env.keys, [node.spec], { maxWriteBufferBytes: SMALL_BUFFER });
    // Two SSH connections to the node: the pool places each new stream on the one with less queued to send.
    const two = await startPool(env.keys, [node.spec], { connectionsPerNode: 2 });
    const forward = await sshLocalForward(env.keys, node, '127.0.0.1', [bulk, echo]);
    const all: Load[] = ['none', 'up', 'down'];
    const paths: Array<{ name: string; bulk: Opener; echo: Opener; loads: Load[] }> = [
      { name: 'OpenSSH -L', bulk: tcpOpener('127.0.0.1', forward.ports[0]!), echo: tcpOpener('127.0.0.1', forward.ports[1]!), loads: all },
      { name: 'ssh-egress', bulk: ours.opener(node.name, bulk), echo: ours.opener(node.name, echo), loads: all },
      { name: `ssh-egress, maxWriteBufferBytes ${SMALL_BUFFER / 1024} KiB`, bulk: small.opener(node.name, bulk), echo: small.opener(node.name, echo), loads: ['up'] },
      { name: 'ssh-egress, connectionsPerNode 2', bulk: two.opener(node.name, bulk), echo: two.opener(node.name, echo), loads: all },
    ];
    const latencyRows: string[][] = [];
    const notes: string[] = [];
    try {
      for (const load of all) {
        for (const path of paths) {
          if (!path.loads.includes(load)) continue;
          const p50: number[] = [];
          const p99: number[] = [];
          const rates: number[] = [];
          for (let run = 0; run < runs; run++) {
            const busy = load === 'none' ? undefined : await saturate(path.bulk, 4, load);
            await new Promise((r) => setTimeout(r, 200)); // let the bulk streams fill every buffer on the way
            const samples: number[] = [];
            const until = performance.now() + 3000;
            for (let i = 0; i < Math.ceil(dials / runs) && (i < 20 || performance.now() < until); i++) {
              samples.push(await firstByte(path.echo, true, 10_000));
            }
            if (busy) rates.push(await busy.stop());
            p50.push(percentile(samples, 50));
            p99.push(percentile(samples, 99));
          }
          const f99 = figure(p99);
          latencyRows.push([
            load === 'none' ? 'idle' : `4 streams ${load === 'up' ? 'uploading' : 'downloading'}`,
            path.name,
            rates.length ? fmt(figure(rates)) : '—',
            fmt(figure(p50), 2),
            fmt(f99, 2),
          ]);
          log(`  load ${load}, ${path.name}: p50 ${figure(p50).median.toFixed(2)} p99 ${f99.median.toFixed(2)} ms`);
          if (load !== 'none' && path === paths[1]) {
            notes.push(`4 bulk streams ${load === 'up' ? 'uploading' : 'downloading'}: dial p99 ${f99.median.toFixed(1)} ms — target <= 50 ms: ${verdict(f99.median <= 50)}`);
          }
        }
      }
    } finally {
      await forward.close();
      await ours.close();
      await small.close();
      await two.close();
    }

    // Memory: many streams pushing at once through one tunnel, with the pool's bound and (for contrast) without.
    const perStream = Math.max(64 * 1024, Math.round(MiB * options.scale));
    const memoryRows: string[][] = [];
    for (const [streams, bound, label] of [
      [100, 1 * MiB, '1 MiB (default)'],
      [1000, 1 * MiB, '1 MiB (default)'],
      [1000, 2 ** 40, 'none (1 TiB)'],
    ] as const) {
      const pool = await startPool(env.keys, [node.spec], { maxWriteBufferBytes: bound });
      try {
        const socks = await Promise.all(Array.from({ length: streams }, () => pool.opener(node.name, bulk)()));
        await settle();
        const base = rss();
        const peak = rssPeak();
        const t0 = performance.now();
        const results = await Promise.allSettled(socks.map((s) => upload(s, perStream)));
        const ms = performance.now() - t0;
        const top = peak.stop();
        for (const s of socks) s.destroy();
        const failed = results.filter((r) => r.status === 'rejected').length;
        memoryRows.push([
          String(streams), `${(perStream / MiB).toFixed(2)} MiB`, label,
          `${((top - base) / MiB).toFixed(0)} MiB`, `${((streams * perStream) / MiB).toFixed(0)} MiB`,
          mbps(streams * perStream, ms).toFixed(0), String(failed),
        ]);
        log(`  memory: ${streams} streams, bound ${label}: peak RSS +${((top - base) / MiB).toFixed(0)} MiB`);
        if (bound === MiB && streams === 1000) {
          const grew = (top - base) / MiB;
          notes.push(`1,000 streams pushing ${((streams * perStream) / MiB).toFixed(0)} MiB at once: RSS grew ${grew.toFixed(0)} MiB with the pool's bound (flat: ${verdict(grew < 128)}), ${failed} failed`);
        }
      } finally {
        await pool.close();
      }
      await settle();
    }
    const tables: Table[] = [
      { caption: 'Dial to first byte (echo, client speaks first) on the same tunnel as the bulk streams:', head: ['load', 'path', 'bulk MB/s', 'dial p50 ms', 'dial p99 ms'], rows: latencyRows },
      {
        caption: `Peak RSS of the bench process above its level before the streams started, while every stream uploads ${(perStream / MiB).toFixed(2)} MiB through one tunnel at once:`,
        head: ['streams', 'each', 'maxWriteBufferBytes', 'peak RSS growth', 'data pushed', 'MB/s', 'failed'],
        rows: memoryRows,
      },
    ];
    return {
      title: '4. Head-of-line fairness and memory under load',
      method:
        `One SSH connection to node 1 (two with connectionsPerNode 2). Four bulk streams upload or download without pause while up to ${Math.ceil(dials / runs)} dials ` +
        `(dial, write "ping", first byte back; at most 3 s) run one after another on the same connection; ${runs} runs. OpenSSH: ` +
        'one `ssh -L` forwarding both the bulk server and the echo server. Also measured: a smaller write-buffer bound, and ' +
        'the pool option `connectionsPerNode: 2`, where bulk streams and dials alike go to the connection with less queued ' +
        'to send. Then 100 and 1,000 streams push data at once ' +
        'through one connection, with the pool\'s write-buffer bound and, for contrast, with the bound lifted.',
      tables,
      notes,
    };
  },
};
