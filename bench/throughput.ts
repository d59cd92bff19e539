// 1. Throughput of one stream, up and down: ssh-egress vs OpenSSH `ssh -L` (same sshd, same cipher) vs direct TCP.
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { startPool } from './lib/pool.js';
import { fmt, ratio, verdict, type Section } from './lib/report.js';
import { sshLocalForward } from './lib/sshd.js';
import { figure, mbps, MiB } from './lib/stats.js';
import { tcpOpener, transfer, type Direction, type Opener } from './lib/traffic.js';
import { selfCpuMs, treeCpuMs } from './lib/cpu.js';

export const throughput: Benchmark = {
  name: 'throughput',
  async run(env, options, log) {
    const bytes = scaled(256, options) * MiB;
    const node = env.nodes[0]!;
    const bulk = env.peer.ports.bulk;
    const ours = await startPool(env.keys, [node.spec]);
    const forward = await sshLocalForward(env.keys, node, '127.0.0.1', [bulk]);
    const modes: Array<[string, Opener]> = [
      ['direct', tcpOpener('127.0.0.1', bulk)],
      ['openssh', tcpOpener('127.0.0.1', forward.ports[0]!)],
      ['ours', ours.opener(node.name, bulk)],
    ];
    // CPU busy (% of one core) during the transfer: sshd (all its processes) and the client doing the crypto
    // (our process, or the ssh client), to show which end limits the rate.
    const sshdPid = node.process.pid as number;
    const busy = (mode: string): { sshd: number; client: number } => ({
      sshd: treeCpuMs(sshdPid),
      client: mode === 'openssh' ? treeCpuMs(forward.pid) : mode === 'ours' ? selfCpuMs() : 0,
    });
    const rows: string[][] = [];
    const cpuRows: string[][] = [];
    const notes: string[] = [];
    try {
      for (const dir of ['up', 'down'] as Direction[]) {
        const samples = new Map<string, number[]>(modes.map(([m]) => [m, []]));
        const sshdPct = new Map<string, number[]>(modes.map(([m]) => [m, []]));
        const clientPct = new Map<string, number[]>(modes.map(([m]) => [m, []]));
        // Interleaved, so drift in the machine's load hits every mode alike.
        // Run 0 warms up (JIT, TCP autotuning) and is not counted.
        for (let run = 0; run <= options.runs; run++) {
          for (const [mode, open] of modes) {
            const sock = await open();
            try {
              const before = busy(mode);
              const ms = await transfer(sock, dir, bytes);
              const after = busy(mode);
              if (run > 0) {
                samples.get(mode)!.push(mbps(bytes, ms));
                sshdPct.get(mode)!.push(((after.sshd - before.sshd) / ms) * 100);
                clientPct.get(mode)!.push(((after.client - before.client) / ms) * 100);
              }
            } finally {
              sock.destroy();
            }
          }
          if (run > 0) log(`  ${dir} run ${run}: ${modes.map(([m]) => `${m} ${samples.get(m)!.at(-1)!.toFixed(0)}`).join(', ')} MB/s`);
        }
        const [d, o, u] = ['direct', 'openssh', 'ours'].map((m) => figure(samples.get(m)!));
        rows.push([dir, fmt(d!), fmt(o!), fmt(u!), ratio(u!.median, o!.median), ratio(u!.median, d!.median)]);
        const pct = (m: Map<string, number[]>, mode: string): string => `${figure(m.get(mode)!).median.toFixed(0)} %`;
        cpuRows.push([dir, 'OpenSSH -L', pct(sshdPct, 'openssh'), `${pct(clientPct, 'openssh')} (ssh)`]);
        cpuRows.push([dir, 'ssh-egress', pct(sshdPct, 'ours'), `${pct(clientPct, 'ours')} (bench process)`]);
        notes.push(`${dir}: ${ratio(u!.median, o!.median)} OpenSSH — target >= 1.0x: ${verdict(u!.median >= o!.median)}`);
      }
    } finally {
      await forward.close();
      await ours.close();
    }
    const section: Section = {
      title: '1. Throughput, one stream',
      method:
        `One stream moves ${bytes / MiB} MiB to (up) or from (down) a server on loopback: through \`dialer.dial\`, ` +
        'through OpenSSH `ssh -N -L` to the same sshd, and directly over TCP. Time from the first byte sent to the ' +
        `last byte confirmed; ${options.runs} runs per mode after one warm-up, interleaved. MB/s = 10^6 bytes/s.`,
      tables: [
        { head: ['direction', 'direct TCP MB/s', 'OpenSSH -L MB/s', 'ssh-egress MB/s', 'vs OpenSSH', 'vs direct'], rows },
        {
          caption: 'CPU busy during the transfers (median, % of one core; 2 cores in all): sshd, and the SSH client end that does the crypto.',
          head: ['direction', 'path', 'sshd', 'client'],
          rows: cpuRows,
        },
      ],
      notes,
    };
    return section;
  },
};
