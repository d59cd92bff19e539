// 6. Daemon overhead: a client in another process going through the HTTP CONNECT front end (loopback TCP, and
// the Unix socket kube-apiserver uses) vs the library dialer in the pool's own process: throughput and latency.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { selfCpuMs } from './lib/cpu.js';
import type { Proxy } from './lib/peer-main.js';
import { startMinimalConnectProxy } from './lib/minimal-connect-proxy.js';
import { startPool } from './lib/pool.js';
import { fmt, ratio, verdict, type Table } from './lib/report.js';
import { figure, mbps, MiB, percentile, type Figure } from './lib/stats.js';
import { firstByte, transfer, type Direction } from './lib/traffic.js';
import { HttpConnectFrontend } from '../src/frontends/http-connect-server.js';
import { silentLogger } from '../src/log.js';

const MINIMAL = 'minimal CONNECT proxy over TCP (floor)';

interface Path {
  name: string;
  /** Undefined: the library, in this process. */
  proxy: Proxy | undefined;
}

export const daemon: Benchmark = {
  name: 'daemon',
  async run(env, options, log) {
    const node = env.nodes[0]!;
    const bytes = scaled(256, options) * MiB;
    const dials = scaled(1000, options, options.runs);
    const perRun = Math.ceil(dials / options.runs);
    const { bulk, echo, greeter } = env.peer.ports;
    const ours = await startPool(env.keys, [node.spec]);
    const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-bench-uds-'));
    const tcp = new HttpConnectFrontend(ours.dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { logger: silentLogger() });
    const uds = new HttpConnectFrontend(ours.dialer, { kind: 'unix', path: path.join(dir, 'egress.sock') }, { logger: silentLogger() });
    await tcp.listen();
    await uds.listen();
    const floor = await startMinimalConnectProxy(ours.dialer);
    const paths: Path[] = [
      { name: 'library', proxy: undefined },
      { name: 'CONNECT over TCP', proxy: { port: (tcp.address() as { port: number }).port } },
      { name: 'CONNECT over Unix socket', proxy: { path: (uds.address() as { path: string }).path } },
      { name: MINIMAL, proxy: { port: floor.port } },
    ];
    const throughputRows: string[][] = [];
    const latencyRows: string[][] = [];
    const notes: string[] = [];
    try {
      for (const d of ['up', 'down'] as Direction[]) {
        const rate = new Map<string, number[]>(paths.map((p) => [p.name, []]));
        const cpu = new Map<string, number[]>(paths.map((p) => [p.name, []]));
        for (let run = 0; run < options.runs; run++) {
          for (const p of paths) {
            const before = selfCpuMs();
            let ms: number;
            if (p.proxy) {
              ms = await env.peer.call<number>({ op: 'connect-transfer', proxy: p.proxy, target: `127.0.0.1:${bulk}`, dir: d, bytes });
            } else {
              const sock = await ours.opener(node.name, bulk)();
              try {
                ms = await transfer(sock, d, bytes);
              } finally {
                sock.destroy();
              }
            }
            cpu.get(p.name)!.push((selfCpuMs() - before) / (bytes / 1e9));
            rate.get(p.name)!.push(mbps(bytes, ms));
          }
        }
        const lib = figure(rate.get('library')!);
        for (const p of paths) {
          const f = figure(rate.get(p.name)!);
          throughputRows.push([d, p.name, fmt(f), ratio(f.median, lib.median), fmt(figure(cpu.get(p.name)!))]);
          if (p.proxy && p.name !== MINIMAL) notes.push(`throughput ${d}, ${p.name}: ${ratio(f.median, lib.median)} the library — target >= 0.9x: ${verdict(f.median >= 0.9 * lib.median)}`);
        }
        log(`  ${d}: ${paths.map((p) => `${p.name} ${figure(rate.get(p.name)!).median.toFixed(0)}`).join(', ')} MB/s`);
      }
      for (const clientFirst of [false, true]) {
        const port = clientFirst ? echo : greeter;
        const p50 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
        const p99 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
        for (let run = 0; run < options.runs; run++) {
          for (const p of paths) {
            let samples: number[] = [];
            if (p.proxy) {
              samples = await env.peer.call<number[]>({ op: 'connect-latency', proxy: p.proxy, target: `127.0.0.1:${port}`, clientFirst, count: perRun });
            } else {
              for (let i = 0; i < perRun; i++) samples.push(await firstByte(ours.opener(node.name, port), clientFirst));
            }
            p50.get(p.name)!.push(percentile(samples, 50));
            p99.get(p.name)!.push(percentile(samples, 99));
          }
        }
        const who = clientFirst ? 'client first' : 'server first';
        const lib: Figure = figure(p50.get('library')!);
        for (const p of paths) {
          const f = figure(p50.get(p.name)!);
          latencyRows.push([who, p.name, fmt(f, 2), fmt(figure(p99.get(p.name)!), 2), `+${(f.median - lib.median).toFixed(2)}`, ratio(lib.median, f.median)]);
          if (p.proxy && p.name !== MINIMAL) notes.push(`dial latency, ${who}, ${p.name}: library p50 / daemon p50 = ${ratio(lib.median, f.median)} — target >= 0.9x: ${verdict(lib.median >= 0.9 * f.median)}`);
        }
        log(`  ${who}: ${paths.map((p) => `${p.name} p50 ${figure(p50.get(p.name)!).median.toFixed(2)}`).join(', ')} ms`);
      }
    } finally {
      await tcp.close();
      await uds.close();
      floor.close();
      await ours.close();
      rmSync(dir, { recursive: true, force: true });
    }
    const tables: Table[] = [
      {
        caption: 'Throughput, one stream (CPU: the pool process, user + system, per 10^9 bytes moved):',
        head: ['direction', 'path', 'MB/s', 'vs library', 'pool process CPU ms/GB'],
        rows: throughputRows,
      },
      {
        caption: `Dial to first byte (${perRun * options.runs} dials each; through the daemon this includes the client's connect to the proxy and the CONNECT exchange):`,
        head: ['server', 'path', 'p50 ms', 'p99 ms', 'p50 added ms', 'library / path (p50)'],
        rows: latencyRows,
      },
    ];
    return {
      title: '6. Daemon overhead: HTTP CONNECT front end vs library',
      method:
        'The pool, dialer and HTTP CONNECT front ends (a plain loopback TCP listener and a Unix socket) run in the bench ' +
        'process, as in the daemon; the proxy client is a Node program in another process that sends `CONNECT 127.0.0.1:<port>`, ' +
        'waits for 200 and then runs the same traffic as the library case, which dials in the pool\'s own process. ' +
        `"${MINIMAL}" is a proxy of a dozen lines over the same dialer (bench/lib/minimal-connect-proxy.ts: no limits, ` +
        'timeouts, logging or error handling): what the extra process hop costs by itself. ' +
        `${options.runs} runs, interleaved.`,
      tables,
      notes,
    };
  },
};
