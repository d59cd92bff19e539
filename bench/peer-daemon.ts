// The daemon against the peer a user would run instead: OpenSSH's dynamic forward (`ssh -D`, a SOCKS server) to
// the same node. Our SOCKS5 and HTTP CONNECT front ends in the daemon's own process (the built CLI) vs `ssh -D`
// in both its forms, one client program for all: one-stream throughput both ways with the CPU of the process
// that carries it, and dial to first byte for a server that speaks first and one where the client does.
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { treeCpuMs } from './lib/cpu.js';
import { buildCli } from './lib/build-cli.js';
import { startDaemonProcess } from './lib/daemon-process.js';
import type { Proxy } from './lib/peer-main.js';
import { fmt, ratio, verdict, type Table } from './lib/report.js';
import { sshDynamicForward } from './lib/sshd.js';
import { figure, mbps, MiB, percentile } from './lib/stats.js';
import type { Direction } from './lib/traffic.js';

/** Time one mode may take in one latency run, and the dials it makes whatever the time (`ssh -N -D` stalls). */
const RUN_BUDGET_MS = 1500;
const MIN_SAMPLES = 10;
/** Before measuring, per path: dials (V8 compiles the daemon's dial path over its first few hundred) and MiB moved. */
const WARM_UP_DIALS = 200;
const WARM_UP_MIB = 16;

interface Mode {
  name: string;
  proxy: Proxy;
  /** The process that carries the stream (the daemon, or the ssh client). */
  pid: number;
  ours: boolean;
}

const INTERACTIVE = "`ssh -tt -D` (interactive, 'sleep infinity')";
const PLAIN = '`ssh -N -D`';

export const peerDaemon: Benchmark = {
  name: 'peer',
  async run(env, options, log) {
    buildCli('peer');
    const node = env.nodes[0]!;
    const bytes = scaled(256, options) * MiB;
    const dials = Math.ceil(scaled(1000, options, options.runs) / options.runs);
    const { bulk, echo, greeter } = env.peer.ports;
    const daemon = await startDaemonProcess(env.keys, node, '127.0.0.1');
    const interactive = await sshDynamicForward(env.keys, node, 'interactive');
    const plain = await sshDynamicForward(env.keys, node, 'plain');
    const modes: Mode[] = [
      { name: 'ssh-egress daemon, SOCKS5', proxy: { port: daemon.socksPort, protocol: 'socks5' }, pid: daemon.pid, ours: true },
      { name: 'ssh-egress daemon, HTTP CONNECT', proxy: { port: daemon.connectPort }, pid: daemon.pid, ours: true },
      { name: INTERACTIVE, proxy: { port: interactive.ports[0]!, protocol: 'socks5' }, pid: interactive.pid, ours: false },
      { name: PLAIN, proxy: { port: plain.ports[0]!, protocol: 'socks5' }, pid: plain.pid, ours: false },
    ];
    const tables: Table[] = [];
    const notes: string[] = [];
    try {
      const throughputRows: string[][] = [];
      for (const dir of ['up', 'down'] as Direction[]) {
        const rate = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        const cpu = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        const transfer = (m: Mode, n: number): Promise<number> =>
          env.peer.call<number>({ op: 'connect-transfer', proxy: m.proxy, target: `127.0.0.1:${bulk}`, dir, bytes: n });
        for (const m of modes) await transfer(m, Math.min(bytes, WARM_UP_MIB * MiB));
        for (let run = 0; run < options.runs; run++) {
          for (const m of modes) {
            const before = treeCpuMs(m.pid);
            const ms = await transfer(m, bytes);
            cpu.get(m.name)!.push((treeCpuMs(m.pid) - before) / (bytes / 1e9));
            rate.get(m.name)!.push(mbps(bytes, ms));
          }
        }
        const med = (name: string, of: Map<string, number[]>): number => figure(of.get(name)!).median;
        const best = Math.max(med(INTERACTIVE, rate), med(PLAIN, rate));
        for (const m of modes) {
          throughputRows.push([
            dir,
            m.name,
            fmt(figure(rate.get(m.name)!)),
            ratio(med(m.name, rate), med(INTERACTIVE, rate)),
            ratio(med(m.name, rate), med(PLAIN, rate)),
            fmt(figure(cpu.get(m.name)!)),
            ratio(med(m.name, cpu), med(INTERACTIVE, cpu)),
          ]);
          if (m.ours) {
            notes.push(`throughput ${dir}, ${m.name}: ${ratio(med(m.name, rate), best)} the faster \`ssh -D\` form — target >= 1.0x: ${verdict(med(m.name, rate) >= best)}`);
          }
        }
        log(`  ${dir}: ${modes.map((m) => `${m.name} ${med(m.name, rate).toFixed(0)} MB/s ${med(m.name, cpu).toFixed(0)} ms/GB`).join('; ')}`);
      }
      tables.push({
        caption: `Throughput, one stream of ${bytes / MiB} MiB (CPU: user + system of the process that carries the stream — the daemon, or the \`ssh\` client — per 10^9 bytes):`,
        head: ['direction', 'path', 'MB/s', 'vs ssh -tt -D', 'vs ssh -N -D', 'carrier CPU ms/GB', 'CPU vs ssh -tt -D'],
        rows: throughputRows,
      });
      for (const clientFirst of [false, true]) {
        const target = `127.0.0.1:${clientFirst ? echo : greeter}`;
        const p50 = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        const p99 = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        const count = new Map<string, number>(modes.map((m) => [m.name, 0]));
        const measure = (m: Mode, n: number): Promise<number[]> =>
          env.peer.call<number[]>({ op: 'connect-latency', proxy: m.proxy, target, clientFirst, count: n, budgetMs: RUN_BUDGET_MS, minCount: MIN_SAMPLES });
        for (const m of modes) await measure(m, WARM_UP_DIALS);
        for (let run = 0; run < options.runs; run++) {
          for (const m of modes) {
            const samples = await measure(m, dials);
            count.set(m.name, count.get(m.name)! + samples.length);
            p50.get(m.name)!.push(percentile(samples, 50));
            p99.get(m.name)!.push(percentile(samples, 99));
          }
        }
        const med = (name: string): number => figure(p50.get(name)!).median;
        const who = clientFirst ? 'client first' : 'server first';
        tables.push({
          caption: `Dial to first byte, ${clientFirst ? 'client speaks first (echo: write "ping", wait for the reply)' : 'server speaks first (greeter: a banner on accept)'}; includes the client's connect to the proxy and the SOCKS5 or CONNECT exchange:`,
          head: ['path', 'dials', 'p50 ms', 'p99 ms', 'p50 vs ssh -tt -D', 'p50 vs ssh -N -D'],
          rows: modes.map((m) => [m.name, String(count.get(m.name)), fmt(figure(p50.get(m.name)!), 2), fmt(figure(p99.get(m.name)!), 2), ratio(med(m.name), med(INTERACTIVE)), ratio(med(m.name), med(PLAIN))]),
        });
        for (const m of modes.filter((x) => x.ours)) {
          notes.push(`dial p50, ${who}, ${m.name}: ${ratio(med(m.name), med(INTERACTIVE))} interactive \`ssh -D\`'s — target <= 1.0x: ${verdict(med(m.name) <= med(INTERACTIVE))}`);
        }
        log(`  ${who}: ${modes.map((m) => `${m.name} p50 ${med(m.name).toFixed(2)}`).join('; ')} ms`);
      }
    } finally {
      await plain.close();
      await interactive.close();
      await daemon.close();
    }
    return {
      title: '10. Daemon vs OpenSSH `ssh -D`: SOCKS5 and HTTP CONNECT',
      method:
        'The daemon as users run it (the built CLI, `node dist/bin/ssh-egress.js daemon --config ...`, with its SOCKS5 and HTTP ' +
        'CONNECT listeners on loopback TCP and a tunnel to n1) against OpenSSH\'s dynamic forward to the same sshd with the same cipher, ' +
        `in both forms: ${INTERACTIVE}, a session with a tty for which ssh and sshd turn Nagle off, and ${PLAIN}, where they leave it ` +
        'on and a server that speaks first waits ~44 ms for a delayed ACK. The client is one Node program in the peer process for every ' +
        'path (SOCKS5: greeting and CONNECT in one write; HTTP CONNECT: request, wait for 200). `ssh -D` speaks SOCKS only, so the HTTP ' +
        `CONNECT row compares our CONNECT with its SOCKS5. ${options.runs} runs, the paths in turn within each run (throughput after a ` +
        `${WARM_UP_MIB} MiB warm-up transfer per path and direction); a latency run of a ` +
        `path stops after ${RUN_BUDGET_MS / 1000} s (at least ${MIN_SAMPLES} dials), after a warm-up of up to ${WARM_UP_DIALS} dials per path. Targets: throughput >= 1.0x the faster \`ssh -D\` form ` +
        'both ways; dial p50 <= 1.0x the interactive form\'s.',
      tables,
      notes,
    };
  },
};
