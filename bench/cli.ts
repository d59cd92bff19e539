// 8. CLI start-up: the built CLI's --version and --help beside bare `node -e 0` and OpenSSH's `ssh -V`, and
// `dial --connect-socket` to its first byte through a daemon front end already holding the tunnel. Each
// command runs in turn with `node -e 0` (A B A B ...) and the ratio is taken pair by pair, so a machine
// whose speed drifts during the run does not skew it.
import { spawn } from 'node:child_process';
import { buildCli, CLI } from './lib/build-cli.js';
import type { Benchmark } from './lib/context.js';
import { startDaemonSocket } from './lib/daemon-socket.js';
import { track } from './lib/proc.js';
import { fmt, ratio, verdict } from './lib/report.js';
import { figure, median } from './lib/stats.js';

/** The bounds: start-up within 2x bare node, a daemon-carried dial's first byte within 3x. */
const START_BOUND = 2;
const DIAL_BOUND = 3;

interface Timed {
  name: string;
  argv: string[];
  /** Stop the clock at the first byte on stdout (and kill the process) instead of at its exit. */
  firstByte?: boolean;
}

export const cli: Benchmark = {
  name: 'cli',
  async run(env, options, log) {
    const runs = Math.max(10, options.runs);
    buildCli('cli');
    const node = env.nodes[0]!;
    const daemon = await startDaemonSocket(env.keys, node, 'cli');
    const socket = daemon.socket;
    const bare: Timed = { name: 'node -e 0', argv: [process.execPath, '-e', '0'] };
    const commands: Timed[] = [
      { name: 'ssh -V', argv: ['ssh', '-V'] },
      { name: 'ssh-egress --version', argv: [process.execPath, CLI, '--version'] },
      { name: 'ssh-egress --help', argv: [process.execPath, CLI, '--help'] },
      {
        name: 'ssh-egress dial --connect-socket (first byte)',
        argv: [process.execPath, CLI, 'dial', '--connect-socket', socket, `127.0.0.1:${env.peer.ports.greeter}`],
        firstByte: true,
      },
    ];
    const rows: string[][] = [];
    const notes: string[] = [];
    try {
      const bareMs: number[] = [];
      for (const command of commands) {
        log(`   ${command.name}`);
        const ms: number[] = [];
        const ratios: number[] = [];
        await timeOnce(command); // warm-up: the file cache, not the figure
        for (let run = 0; run < runs; run++) {
          const a = await timeOnce(command);
          const b = await timeOnce(bare);
          ms.push(a);
          bareMs.push(b);
          ratios.push(a / b);
        }
        rows.push([command.name, fmt(figure(ms), 1), `${median(ratios).toFixed(2)}x`]);
        const bound = command.firstByte ? DIAL_BOUND : command.argv[1] === CLI ? START_BOUND : undefined;
        if (bound !== undefined) notes.push(`${command.name}: ${median(ratios).toFixed(2)}x bare node (target <= ${bound}x): ${verdict(median(ratios) <= bound)}`);
      }
      rows.unshift([bare.name, fmt(figure(bareMs), 1), ratio(1, 1)]);
    } finally {
      await daemon.close();
    }
    return {
      title: '8. CLI start-up',
      method:
        `Wall time of one whole process (spawn to exit, or to the first byte on stdout for dial), ${runs} runs each after one warm-up, ` +
        'each run paired with a `node -e 0` run; the ratio is the median of the pairs\' ratios. dial goes through an HTTP CONNECT front ' +
        'end on a Unix socket whose pool already holds the tunnel to n1, to the peer\'s greeter (which speaks first).',
      tables: [{ head: ['command', 'wall ms, median (min–max)', 'ratio to node -e 0'], rows }],
      notes,
    };
  },
};

/** Milliseconds from spawn to exit (or to the first stdout byte). */
function timeOnce(command: Timed): Promise<number> {
  const [file, ...args] = command.argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = track(spawn(file, args, { stdio: ['pipe', 'pipe', 'ignore'] }));
    let firstByteMs: number | undefined;
    child.stdout?.once('data', () => {
      if (!command.firstByte) return;
      firstByteMs = performance.now() - started;
      child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (command.firstByte && firstByteMs === undefined) return reject(new Error(`${command.name}: exited ${code} before any byte`));
      if (!command.firstByte && code !== 0) return reject(new Error(`${command.name}: exited ${code}`));
      resolve(firstByteMs ?? performance.now() - started);
    });
  });
}
