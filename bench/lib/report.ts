// The Markdown report: machine and versions, then one section per benchmark.
import { createRequire } from 'node:module';
import os from 'node:os';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { CIPHER } from './sshd.js';
import type { Figure } from './stats.js';

export interface Section {
  title: string;
  /** One paragraph under the title: what was measured and how. */
  method: string;
  tables: Table[];
  /** Targets met or missed, and findings, one per line. */
  notes: string[];
}

export interface Table {
  caption?: string;
  head: string[];
  rows: string[][];
}

/** "880 (850–910)": the median and the spread of the runs. */
export function fmt(f: Figure, digits = 0): string {
  const n = (x: number): string => (Number.isFinite(x) ? x.toFixed(digits) : '—');
  return f.runs > 1 ? `${n(f.median)} (${n(f.min)}–${n(f.max)})` : n(f.median);
}

export function ratio(a: number, b: number, digits = 2): string {
  return Number.isFinite(a / b) ? `${(a / b).toFixed(digits)}x` : '—';
}

export const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

export function machine(): string[] {
  const cpu = os.cpus();
  const require = createRequire(import.meta.url);
  const ssh2Version = (JSON.parse(readFileSync(require.resolve('ssh2/package.json'), 'utf8')) as { version: string }).version;
  let native = 'no';
  try {
    require('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
    native = 'yes';
  } catch {
    /* pure-JS crypto only */
  }
  const openssh = spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim();
  return [
    `- CPU: ${cpu.length} × ${cpu[0]?.model ?? 'unknown'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, Linux ${os.release()}`,
    `- Node ${process.version}, ssh2 ${ssh2Version} (native crypto binding: ${native}), ${openssh}`,
    `- Cipher: ${CIPHER} on every SSH connection (pinned in sshd's config and with \`ssh -c\`); all traffic on loopback`,
    `- Load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other jobs share this machine; compare within a table)`,
  ];
}

export function render(sections: readonly Section[], header: { command: string; startedAt: Date; durationS: number }): string {
  const out: string[] = [];
  out.push(`Command: \`${header.command}\` — ${header.startedAt.toISOString()}, ${header.durationS.toFixed(0)} s`, '');
  out.push(...machine(), '');
  out.push('Each figure is the median of the runs, with the smallest and largest run in brackets; ratios are of medians.', '');
  for (const s of sections) {
    out.push(`### ${s.title}`, '', s.method, '');
    for (const t of s.tables) {
      if (t.caption) out.push(`${t.caption}`, '');
      out.push(`| ${t.head.join(' | ')} |`, `| ${t.head.map(() => '---').join(' | ')} |`);
      for (const row of t.rows) out.push(`| ${row.join(' | ')} |`);
      out.push('');
    }
    for (const n of s.notes) out.push(`- ${n}`);
    if (s.notes.length) out.push('');
  }
  return out.join('\n');
}
