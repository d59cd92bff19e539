// npm run bench [-- --only <name>[,<name>...]] [--scale <factor>] [--runs <n>] [--out <file>]
// Starts its own sshd(s) and servers on loopback, runs each benchmark side by side with OpenSSH and direct
// TCP, prints a Markdown report and writes it into BENCHMARKS.md (between the bench markers).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Benchmark, Env } from './lib/context.js';
import { startPeer } from './lib/peer.js';
import { render, type Section } from './lib/report.js';
import { makeKeys, startSshd } from './lib/sshd.js';
import { stop } from './lib/proc.js';
import { aggregate } from './aggregate.js';
import { cli } from './cli.js';
import { proxyCommand } from './proxy-command.js';
import { daemon } from './daemon.js';
import { fairness } from './fairness.js';
import { latency } from './latency.js';
import { peerDaemon } from './peer-daemon.js';
import { scale as scaleBench } from './scale.js';
import { sharding } from './sharding.js';
import { reverse } from './reverse.js';
import { throughput } from './throughput.js';

const BENCHMARKS: Benchmark[] = [throughput, aggregate, latency, fairness, scaleBench, daemon, reverse, cli, proxyCommand, peerDaemon, sharding];
const BEGIN = '<!-- bench:begin -->';
const END = '<!-- bench:end -->';
/** Nothing may run longer than this, whatever happens. */
const HARD_LIMIT_MS = 20 * 60_000;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    scale: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
if (!(scale > 0) || !(Number.isInteger(runs) && runs >= 1)) throw new Error('--scale must be > 0 and --runs an integer >= 1');
const only = values.only?.split(',').map((s) => s.trim());
const unknown = only?.filter((n) => !BENCHMARKS.some((b) => b.name === n)) ?? [];
if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
const selected = BENCHMARKS.filter((b) => !only || only.includes(b.name));

const hardLimit = setTimeout(() => {
  console.error(`bench: still running after ${HARD_LIMIT_MS / 60_000} min, giving up`);
  process.exit(3);
}, HARD_LIMIT_MS);
hardLimit.unref();

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const startedAt = new Date();
const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-bench-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // also after the hard limit or Ctrl-C
const keys = await makeKeys(dir);
const nodes = [];
for (let k = 1; k <= 4; k++) nodes.push(await startSshd(keys, `n${k}`, `127.0.2.${k}`));
const env: Env = { keys, nodes, peer: await startPeer() };

const sections: Section[] = [];
try {
  for (const bench of selected) {
    log(`== ${bench.name}`);
    const t0 = performance.now();
    sections.push(await bench.run(env, { scale, runs }, log));
    log(`   (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  await env.peer.close();
  for (const n of nodes) await stop(n.process);
}

const args = process.argv.slice(2).join(' ');
const report = render(sections, {
  command: `npm run bench${args ? ` -- ${args}` : ''}`,
  startedAt,
  durationS: (Date.now() - startedAt.getTime()) / 1000,
});
process.stdout.write(report + '\n');
// A partial run (--only) goes to BENCHMARKS.md only when asked with --out.
const out = values.out ?? (only ? undefined : 'BENCHMARKS.md');
if (out) {
  const previous = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const b = previous.indexOf(BEGIN);
  const e = previous.indexOf(END);
  const block = `${BEGIN}\n${report}\n${END}`;
  writeFileSync(out, b >= 0 && e > b ? previous.slice(0, b) + block + previous.slice(e + END.length) : `${previous}${previous ? '\n' : ''}${block}\n`);
  log(`report written to ${out}`);
}
process.exit(0);
