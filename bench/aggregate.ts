// 2. Aggregate throughput: 8 and 64 parallel streams across 1 and 4 nodes, vs OpenSSH with one `ssh -L` per node.
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { parallel } from './lib/parallel.js';
import { startPool, type BenchPool } from './lib/pool.js';
import { fmt, ratio, verdict, type Table } from './lib/report.js';
import { sshLocalForward, type LocalForward } from './lib/sshd.js';
import { figure, MiB } from './lib/stats.js';
import { tcpOpener, type Direction, type Opener } from './lib/traffic.js';

export const aggregate: Benchmark = {
  name: 'aggregate',
  async run(env, options, log) {
    const bytes = scaled(256, options) * MiB;
    const runs = Math.max(1, Math.ceil(options.runs / 2) + 1);
    const bulk = env.peer.ports.bulk;
    const pools: BenchPool[] = [];
    const forwards: LocalForward[] = [];
    const rows: string[][] = [];
    const extraRows: string[][] = [];
    const notes: string[] = [];
    try {
      // One pool over the four nodes with the default one SSH connection per node, and one with two.
      const ours = await startPool(env.keys, env.nodes.map((n) => n.spec));
      const two = await startPool(env.keys, env.nodes.map((n) => n.spec), { connectionsPerNode: 2 });
      pools.push(ours, two);
      for (const n of env.nodes) forwards.push(await sshLocalForward(env.keys, n, '127.0.0.1', [bulk]));
      for (const nodeCount of [1, 4]) {
        const nodes = env.nodes.slice(0, nodeCount);
        const modes: Array<[string, Opener[]]> = [
          ['direct', [tcpOpener('127.0.0.1', bulk)]],
          ['openssh', forwards.slice(0, nodeCount).map((f) => tcpOpener('127.0.0.1', f.ports[0]!))],
          ['ours', nodes.map((n) => ours.opener(n.name, bulk))],
          ['ours2', nodes.map((n) => two.opener(n.name, bulk))],
        ];
        for (const streams of [8, 64]) {
          for (const dir of ['up', 'down'] as Direction[]) {
            const samples = new Map<string, number[]>(modes.map(([m]) => [m, []]));
            for (let run = 0; run < runs; run++) {
              for (const [mode, openers] of modes) samples.get(mode)!.push(await parallel(openers, streams, dir, bytes));
            }
            const f = Object.fromEntries([...samples].map(([m, s]) => [m, figure(s)]));
            log(`  ${nodeCount} node(s), ${streams} streams, ${dir}: ${[...samples.keys()].map((m) => `${m} ${f[m]!.median.toFixed(0)}`).join(', ')} MB/s`);
            rows.push([
              String(nodeCount), String(streams), dir,
              fmt(f.direct!), fmt(f.openssh!), fmt(f.ours!),
              ratio(f.ours!.median, f.openssh!.median),
            ]);
            notes.push(`${nodeCount} node(s), ${streams} streams, ${dir}: ${ratio(f.ours!.median, f.openssh!.median)} OpenSSH — target >= 1.0x: ${verdict(f.ours!.median >= f.openssh!.median)}`);
            extraRows.push([String(nodeCount), String(streams), dir, fmt(f.ours!), fmt(f.ours2!), ratio(f.ours2!.median, f.ours!.median), ratio(f.ours2!.median, f.openssh!.median)]);
          }
        }
      }
    } finally {
      for (const f of forwards) await f.close();
      for (const p of pools) await p.close();
    }
    const tables: Table[] = [
      { head: ['nodes', 'streams', 'direction', 'direct TCP MB/s', 'OpenSSH -L per node MB/s', 'ssh-egress MB/s', 'vs OpenSSH'], rows },
      {
        caption: 'The pool option `connectionsPerNode: 2` (two SSH connections per node, each new stream on the one with less queued to send) against the default 1:',
        head: ['nodes', 'streams', 'direction', 'connectionsPerNode 1 MB/s', 'connectionsPerNode 2 MB/s', 'gain', '2 vs OpenSSH'],
        rows: extraRows,
      },
    ];
    return {
      title: '2. Aggregate throughput, parallel streams',
      method:
        `${bytes / MiB} MiB in total, split evenly over 8 or 64 streams opened at once, spread round-robin over 1 or 4 nodes ` +
        '(four sshd processes on 127.0.2.1–4). OpenSSH: one `ssh -N -L` per node, each stream a connection to its local port. ' +
        `ssh-egress: one pool, one SSH connection per node (the default), and a second pool with two. Time from the first byte to the last stream done; ${runs} runs per mode, interleaved.`,
      tables,
      notes,
    };
  },
};
