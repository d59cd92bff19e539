// 3. Dial latency, dial -> first byte, on a warm tunnel: ssh-egress vs direct TCP vs OpenSSH (ControlMaster with
// a -L forward; ControlMaster with `ssh -S ctl -W` per stream; a new `ssh -W` per stream), for a server that
// speaks first and for one where the client speaks first.
import { Duplex } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import { startPool } from './lib/pool.js';
import { rawSsh2 } from './lib/raw-ssh2.js';
import { fmt, ratio, verdict } from './lib/report.js';
import { sshControlMaster, sshMuxForward, sshStdio } from './lib/sshd.js';
import { figure, percentile, type Figure } from './lib/stats.js';
import { firstByte, tcpOpener, type Opener } from './lib/traffic.js';
import { Ssh2Session } from '../src/ssh/ssh2-session.js';

/** `ssh ... -W target` as a stream: a new process (and, without a master, a new SSH connection) per dial. */
function stdioOpener(spawnIt: () => ChildProcess): Opener {
  return async () => {
    const child = spawnIt();
    const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
    stream.once('close', () => child.kill('SIGKILL'));
    child.stdin!.on('error', () => undefined);
    return stream;
  };
}

/**
 * Ours without the prompt ACK in Ssh2Session (an SSH_MSG_IGNORE after a small read that nothing answered), to
 * show what it is worth in the same run. Patches the prototype for the duration of `fn`.
 */
async function withoutAckFix<T>(fn: () => Promise<T>): Promise<T> {
  const proto = Ssh2Session.prototype as unknown as { ackPromptly: () => void };
  const original = proto.ackPromptly;
  proto.ackPromptly = () => undefined;
  try {
    return await fn();
  } finally {
    proto.ackPromptly = original;
  }
}

/** Time one mode may take in one run, and the samples it takes whatever the time. */
const RUN_BUDGET_MS = 1500;
const MIN_SAMPLES = 10;

interface Mode {
  name: string;
  label: string;
  /** Dials per run; a full process per dial is slow, so those get fewer. */
  count: number;
  open: Opener;
  wrap?: <T>(fn: () => Promise<T>) => Promise<T>;
}

export const latency: Benchmark = {
  name: 'latency',
  async run(env, options, log) {
    const node = env.nodes[0]!;
    const dials = scaled(2000, options, options.runs);
    const perRun = Math.ceil(dials / options.runs);
    const slow = Math.max(MIN_SAMPLES, Math.ceil(scaled(30, options) / options.runs));
    const ours = await startPool(env.keys, [node.spec]);
    const master = await sshControlMaster(env.keys, node);
    const raw = await rawSsh2(env.keys, node);
    const tables = [];
    const notes: string[] = [];
    try {
      for (const clientFirst of [false, true]) {
        const port = clientFirst ? env.peer.ports.echo : env.peer.ports.greeter;
        const target = `127.0.0.1:${port}`;
        const muxPort = await sshMuxForward(env.keys, node, master, '127.0.0.1', port);
        const modes: Mode[] = [
          { name: 'direct', label: 'direct TCP', count: perRun, open: tcpOpener('127.0.0.1', port) },
          { name: 'ours', label: 'ssh-egress `dialer.dial`', count: perRun, open: ours.opener(node.name, port) },
          { name: 'raw', label: 'ssh2 `forwardOut` alone (no pool, dialer, wrapper or ACK fix)', count: perRun, open: raw.opener('127.0.0.1', port) },
          { name: 'nofix', label: 'ssh-egress without the ACK fix', count: perRun, open: ours.opener(node.name, port), wrap: withoutAckFix },
          { name: 'mux-L', label: 'OpenSSH ControlMaster, `-O forward -L`', count: perRun, open: tcpOpener('127.0.0.1', muxPort) },
          { name: 'mux-W', label: 'OpenSSH ControlMaster, `ssh -S ctl -W` per dial', count: slow, open: stdioOpener(() => sshStdio(env.keys, node, target, master.args)) },
          { name: 'ssh-W', label: 'new `ssh -W` per dial', count: slow, open: stdioOpener(() => sshStdio(env.keys, node, target)) },
        ];
        const p50 = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        const done = new Map<string, number>(modes.map((m) => [m.name, 0]));
        const p99 = new Map<string, number[]>(modes.map((m) => [m.name, []]));
        for (let run = 0; run < options.runs; run++) {
          for (const mode of modes) {
            const samples: number[] = [];
            // A slow path (43 ms a dial) stops at the time budget instead of its count.
            const until = performance.now() + RUN_BUDGET_MS;
            const measure = async (): Promise<void> => {
              for (let i = 0; i < mode.count && (i < MIN_SAMPLES || performance.now() < until); i++) {
                samples.push(await firstByte(mode.open, clientFirst));
              }
            };
            await (mode.wrap ? mode.wrap(measure) : measure());
            done.set(mode.name, done.get(mode.name)! + samples.length);
            p50.get(mode.name)!.push(percentile(samples, 50));
            p99.get(mode.name)!.push(percentile(samples, 99));
          }
        }
        const f50 = (m: string): Figure => figure(p50.get(m)!);
        const f99 = (m: string): Figure => figure(p99.get(m)!);
        const direct = f50('direct').median;
        const rows = modes.map((m) => [m.label, String(done.get(m.name)), fmt(f50(m.name), 2), fmt(f99(m.name), 2), ratio(f50(m.name).median, direct, 1)]);
        const who = clientFirst ? 'client speaks first (echo: write "ping", wait for the reply)' : 'server speaks first (greeter: a banner on accept)';
        tables.push({ caption: `${who}:`, head: ['path', 'dials', 'p50 ms', 'p99 ms', 'p50 vs direct'], rows });
        log(`  ${clientFirst ? 'client-first' : 'server-first'}: ${modes.map((m) => `${m.name} p50 ${f50(m.name).median.toFixed(2)} p99 ${f99(m.name).median.toFixed(2)}`).join('; ')}`);
        const ours50 = f50('ours').median;
        const ours99 = f99('ours').median;
        const kind = clientFirst ? 'client first' : 'server first';
        notes.push(`${kind}: p50 ${ours50.toFixed(2)} ms = ${ratio(ours50, direct, 1)} direct TCP (target <= 2x: ${verdict(ours50 <= 2 * direct)}); p99 ${ours99.toFixed(2)} ms (target <= 5 ms: ${verdict(ours99 <= 5)})`);
      }
    } finally {
      raw.close();
      await master.close();
      await ours.close();
    }
    return {
      title: '3. Dial latency, dial to first byte',
      method:
        `Time from starting a dial to the first byte of the answer, one dial after another on a warm tunnel to node 1; ` +
        `p50 and p99 of each run (${options.runs} runs, interleaved), then the median over runs. ` +
        '"Without the ACK fix" is the same dialer with its prompt acknowledgement switched off (src/ssh/ssh2-session.ts: an ' +
        'SSH_MSG_IGNORE after a small read that nothing else answered, so sshd\'s Nagle does not hold its next segment for our delayed ACK). ' +
        `A mode stops a run after ${RUN_BUDGET_MS / 1000} s (at least ${MIN_SAMPLES} dials), so slow paths have fewer samples.`,
      tables,
      notes,
    };
  },
};
