// 11. Sharding: the aggregate workload (4 nodes, 8 and 64 streams, both ways) with the nodes' SSH connections
// in one pool process vs partitioned over two, beside the library in this process and OpenSSH's `ssh -L` per
// node; with the CPU of every process taking part, to show where the two cores went; then the cost of handing
// an accepted connection to the shard that owns its node, and a shard's memory.
import { once } from 'node:events';
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { cpuSnapshot, selfCpuMs } from './lib/cpu.js';
import { processMemory } from './lib/memory.js';
import { parallel } from './lib/parallel.js';
import { startPool } from './lib/pool.js';
import { sleep, start, stop } from './lib/proc.js';
import { fmt, ratio, type Table } from './lib/report.js';
import { startShards, type Shards } from './lib/shards.js';
import { sshLocalForward, type LocalForward } from './lib/sshd.js';
import { figure, MiB, percentile, type Figure } from './lib/stats.js';
import { firstByte, tcpOpener, type Direction, type Opener } from './lib/traffic.js';

const STREAMS = [8, 64];

interface Mode {
  name: string;
  openers: Opener[];
  /** The processes carrying the SSH side (empty: this process, the library). */
  pids: number[];
}

/** CPU milliseconds of each group of processes during one run, and the run's wall time. */
interface RunCpu {
  wallMs: number;
  ours: number;
  busiest: number;
  /** NaN for the library, where the client is the pool's own process. */
  client: number;
  sshd: number;
  servers: number;
}

const GROUPS = ['ours', 'busiest', 'client', 'sshd', 'servers'] as const;

/** RSS of a Node process that does nothing (with `args`, e.g. tsx), after it has started: the runtime's own cost. */
async function idleNodeRss(args: string[]): Promise<number> {
  const child = start(process.execPath, [...args, '-e', 'process.stdout.write("up\\n"); setInterval(() => {}, 1e6)'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  try {
    await once(child.stdout!, 'data');
    await sleep(300);
    return processMemory(child.pid as number).rss;
  } finally {
    await stop(child);
  }
}

/**
 * Dial to first byte (client first, to the echo server, targets[1]) through `node`'s shard: at the shard's own
 * port, and accepted in this process and handed over by IPC, as a primary owning the listeners would route it.
 */
async function handoffLatency(shards: Shards, node: string, dials: number, runs: number): Promise<string[][]> {
  const router = await shards.router(node, 1);
  try {
    const paths: Array<[string, Opener]> = [
      ["the owning shard's own port", shards.opener(node, 1)],
      ['accepted here, handed to the owning shard', tcpOpener('127.0.0.1', router.port)],
    ];
    const p50 = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    const p99 = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    for (let run = 0; run < runs; run++) {
      for (const [name, open] of paths) {
        const samples: number[] = [];
        for (let i = 0; i < Math.ceil(dials / runs); i++) samples.push(await firstByte(open, true));
        p50.get(name)!.push(percentile(samples, 50));
        p99.get(name)!.push(percentile(samples, 99));
      }
    }
    const base = figure(p50.get(paths[0]![0])!).median;
    return paths.map(([name]) => {
      const f = figure(p50.get(name)!);
      const added = f.median - base;
      return [name, fmt(f, 2), fmt(figure(p99.get(name)!), 2), `${added < 0 ? '' : '+'}${added.toFixed(2)}`];
    });
  } finally {
    router.close();
  }
}

export const sharding: Benchmark = {
  name: 'sharding',
  async run(env, options, log) {
    const bytes = scaled(256, options) * MiB;
    const targets = [`127.0.0.1:${env.peer.ports.bulk}`, `127.0.0.1:${env.peer.ports.echo}`];
    const dials = scaled(300, options, options.runs);
    const sshdPids = env.nodes.map((n) => n.process.pid as number);
    const forwards: LocalForward[] = [];
    const shardSets: Shards[] = [];
    const library = await startPool(env.keys, env.nodes.map((n) => n.spec));
    const rows: string[][] = [];
    const cpuRows: string[][] = [];
    const notes: string[] = [];
    let memoryRows: string[][] = [];
    const handoffRows: string[][] = [];
    /** For every round of every cell: were 2 shards faster than 1? */
    const ahead: boolean[] = [];
    try {
      for (const n of env.nodes) forwards.push(await sshLocalForward(env.keys, n, '127.0.0.1', [env.peer.ports.bulk]));
      const one = await startShards(env.keys, env.nodes, 1, targets);
      shardSets.push(one);
      const two = await startShards(env.keys, env.nodes, 2, targets);
      shardSets.push(two);
      const idle = [...one.pids, ...two.pids].map((pid) => processMemory(pid).rss);
      const modes: Mode[] = [
        { name: 'OpenSSH -L per node', openers: forwards.map((f) => tcpOpener('127.0.0.1', f.ports[0]!)), pids: forwards.map((f) => f.pid) },
        { name: 'library, this process', openers: env.nodes.map((n) => library.opener(n.name, env.peer.ports.bulk)), pids: [] },
        { name: '1 shard process', openers: env.nodes.map((n) => one.opener(n.name)), pids: one.pids },
        { name: '2 shard processes', openers: env.nodes.map((n) => two.opener(n.name)), pids: two.pids },
      ];
      for (const m of modes) await parallel(m.openers, 8, 'up', bytes / 4); // warm every connection once

      for (const streams of STREAMS) {
        for (const dir of ['up', 'down'] as Direction[]) {
          const rate = new Map<string, number[]>(modes.map((m) => [m.name, []]));
          const cpu = new Map<string, RunCpu[]>(modes.map((m) => [m.name, []]));
          for (let run = 0; run < options.runs; run++) {
            for (const m of modes) {
              const before = { at: cpuSnapshot(), self: selfCpuMs(), t: performance.now() };
              rate.get(m.name)!.push(await parallel(m.openers, streams, dir, bytes));
              const after = { at: cpuSnapshot(), self: selfCpuMs(), t: performance.now() };
              const used = (pids: number[]): number => pids.reduce((sum, pid) => sum + after.at(pid) - before.at(pid), 0);
              cpu.get(m.name)!.push({
                wallMs: after.t - before.t,
                ours: m.pids.length ? used(m.pids) : after.self - before.self,
                busiest: Math.max(0, ...m.pids.map((pid) => used([pid]))),
                client: m.pids.length ? after.self - before.self : NaN,
                sshd: used(sshdPids),
                servers: used([env.peer.pid]),
              });
            }
          }
          const f = new Map<string, Figure>([...rate].map(([name, s]) => [name, figure(s)]));
          const oneShard = f.get('1 shard process')!.median;
          const openssh = f.get('OpenSSH -L per node')!.median;
          for (const m of modes) {
            const r = f.get(m.name)!;
            rows.push([String(streams), dir, m.name, fmt(r), ratio(r.median, oneShard), ratio(r.median, openssh)]);
            const c = cpu.get(m.name)!;
            // Per run: % of one core over the run's wall time, and ms per 10^9 bytes moved; medians of the runs.
            const pct = (g: (typeof GROUPS)[number]): number => figure(c.map((x) => (x[g] / x.wallMs) * 100)).median;
            const perGb = (g: (typeof GROUPS)[number]): number => figure(c.map((x) => x[g] / (bytes / 1e9))).median;
            const inProcess = m.pids.length === 0;
            const totalPerGb = figure(c.map((x) => (x.ours + (inProcess ? 0 : x.client) + x.sshd + x.servers) / (bytes / 1e9))).median;
            cpuRows.push([
              String(streams), dir, m.name,
              `${pct('ours').toFixed(0)} %`,
              m.pids.length > 1 ? `${pct('busiest').toFixed(0)} %` : '—',
              inProcess ? '(in ours)' : `${pct('client').toFixed(0)} %`,
              `${pct('sshd').toFixed(0)} %`,
              `${pct('servers').toFixed(0)} %`,
              perGb('ours').toFixed(0),
              inProcess ? '—' : perGb('client').toFixed(0),
              perGb('sshd').toFixed(0),
              perGb('servers').toFixed(0),
              totalPerGb.toFixed(0),
            ]);
          }
          // Each round ran both back to back: the ratio within a round is the least disturbed by the machine's other load.
          const pairs = rate.get('2 shard processes')!.map((r, i) => r / rate.get('1 shard process')![i]!);
          ahead.push(...pairs.map((p) => p > 1));
          const cpuPairs = cpu.get('2 shard processes')!.map((c, i) => c.ours / cpu.get('1 shard process')![i]!.ours);
          notes.push(
            `${streams} streams ${dir}: 2 shards / 1 shard per round ${fmt(figure(pairs), 2)}x, ahead in ${pairs.filter((p) => p > 1).length} of ${pairs.length} rounds; ` +
              `their pool CPU per byte ${fmt(figure(cpuPairs), 2)}x`,
          );
          log(`  4 nodes, ${streams} streams, ${dir}: ${modes.map((m) => `${m.name} ${f.get(m.name)!.median.toFixed(0)}`).join(', ')} MB/s`);
        }
      }
      notes.push(`all cells: 2 shards ahead of 1 in ${ahead.filter(Boolean).length} of ${ahead.length} rounds`);
      handoffRows.push(...(await handoffLatency(two, env.nodes[1]!.name, dials, options.runs)));
      log(`  handoff: ${handoffRows.map((r) => `${r[0]} p50 ${r[1]}`).join(', ')} ms`);
      const peaks = [...one.pids, ...two.pids].map((pid) => processMemory(pid).peak);
      const bare = await idleNodeRss([]);
      const bareTsx = await idleNodeRss(['--import', 'tsx']);
      const mib = (b: number): string => (b / MiB).toFixed(0);
      memoryRows = [
        ['1 shard (4 nodes)', mib(idle[0]!), mib(peaks[0]!)],
        ['2 shards, first (2 nodes)', mib(idle[1]!), mib(peaks[1]!)],
        ['2 shards, second (2 nodes)', mib(idle[2]!), mib(peaks[2]!)],
        ['idle `node` (no pool)', mib(bare), '—'],
        ['idle `node --import tsx` (no pool; the shards run under tsx)', mib(bareTsx), '—'],
      ];
    } finally {
      for (const s of shardSets) await s.close();
      for (const f of forwards) await f.close();
      await library.close();
    }
    const tables: Table[] = [
      { head: ['streams', 'direction', 'path', 'MB/s', 'vs 1 shard', 'vs OpenSSH'], rows },
      {
        caption:
          'CPU of each process group during the transfers (user + system from /proc; median of the runs), as % of one core (2 cores in all) and as ms per 10^9 bytes moved. ' +
          '"ours": the pool process(es), the four ssh clients for OpenSSH, or this process for the library (client and pool in one); "busiest process": the busiest of those; ' +
          '"client": this process, writing and reading the streams over loopback TCP; "sshd": the four sshd trees; "servers": the bulk servers in the peer process; "all": the sum.',
        head: ['streams', 'direction', 'path', 'ours %', 'busiest process %', 'client %', 'sshd %', 'servers %', 'ours ms/GB', 'client ms/GB', 'sshd ms/GB', 'servers ms/GB', 'all ms/GB'],
        rows: cpuRows,
      },
      {
        caption: `Dial to first byte through a shard (client first, echo server, node n2 in the second of two shards; ${Math.ceil(dials / options.runs) * options.runs} dials each, ${options.runs} runs interleaved): the cost of routing a connection accepted elsewhere to its shard.`,
        head: ['path', 'p50 ms', 'p99 ms', 'p50 added ms'],
        rows: handoffRows,
      },
      { caption: 'Resident memory of a shard process (MiB): after READY, and its peak over the runs.', head: ['process', 'RSS idle MiB', 'peak MiB'], rows: memoryRows },
    ];
    return {
      title: '11. Sharding the pool over processes',
      method:
        `The aggregate workload on the four nodes: ${bytes / MiB} MiB in total over 8 or 64 streams spread round-robin over the nodes. ` +
        'Shards: processes (bench/lib/shard-main.ts) each owning the SSH connections to their share of the nodes (node i in shard i mod N) ' +
        'with one loopback port per node that carries each connection through that node\'s tunnel, as `ssh -L` does; this process routes ' +
        'each stream to the port of the shard owning its node. "1 shard" is the same program with all four nodes, so the pair differs only in ' +
        'the split. Beside them: the library pool in this process (no loopback hop), and one `ssh -N -L` per node. ' +
        `${options.runs} runs per path, interleaved, after one warm-up. Then the cost of routing when one process owns the listeners: ` +
        'a connection accepted in this process (paused, nothing read) and sent to the owning shard over IPC (`child.send(message, socket)`), ' +
        'against the same dial at the shard\'s own port.',
      tables,
      notes,
    };
  },
};
