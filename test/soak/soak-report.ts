// The soak's verdict and its Markdown report.
import { sum, type Sample, type SoakResult } from './soak.js';

/** Descriptors the daemon may hold after the load beyond what it held before (timers, a lingering socket). */
export const FD_TOLERANCE = 10;

export interface Verdict {
  pass: boolean;
  problems: string[];
}

const find = (samples: Sample[], label: string): Sample | undefined => samples.find((s) => s.label.startsWith(label));

export function verdict(r: SoakResult): Verdict {
  const problems: string[] = [];
  if (sum(r.corrupted) > 0) problems.push(`${sum(r.corrupted)} corrupted streams`);
  if (sum(r.hung) > 0) problems.push(`${sum(r.hung)} hung streams`);
  const unreachable = Object.entries(r.failed).filter(([why]) => why.startsWith('daemon unreachable'));
  if (unreachable.length > 0) problems.push(`the daemon refused TCP connections: ${JSON.stringify(Object.fromEntries(unreachable))}`);
  // A cut stream must look cut: a clean end before the whole answer could pass for a complete one.
  const silent = Object.entries(r.failed).filter(([why]) => why.includes('clean end before the full answer'));
  if (silent.length > 0) problems.push(`streams ended cleanly but short: ${JSON.stringify(Object.fromEntries(silent))}`);
  if (!r.daemonAlive) problems.push('the daemon died during the soak');
  if (r.daemonExitCode !== 0) problems.push(`the daemon exited ${r.daemonExitCode} on SIGTERM (expected 0)`);
  if (r.recoveryMs === undefined) problems.push('tunnels were not all READY within 90 s of the end of chaos');
  const notReady = r.finalTunnels.filter((s) => s.state !== 'READY');
  if (notReady.length > 0 || r.finalTunnels.length !== r.nodes) problems.push(`not READY at the end: ${JSON.stringify(r.finalTunnels)}`);
  const leftOpen = r.finalTunnels.filter((s) => s.openStreams > 0);
  if (leftOpen.length > 0) problems.push(`streams still open after the load: ${JSON.stringify(leftOpen)}`);
  const start = find(r.samples, 'start');
  const endOfLoad = find(r.samples, 'end of load');
  const after = find(r.samples, '5 s after');
  if (start && after && after.fds > start.fds + FD_TOLERANCE) problems.push(`file descriptors grew from ${start.fds} to ${after.fds}`);
  if (endOfLoad && after && after.rssBytes > endOfLoad.rssBytes * 1.1 + 8 * 2 ** 20) {
    problems.push(`RSS grew after the load stopped: ${mib(endOfLoad.rssBytes)} -> ${mib(after.rssBytes)}`);
  }
  if (r.intact === 0) problems.push('no stream completed at all');
  return { pass: problems.length === 0, problems };
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const pct = (n: number, of: number): string => (of === 0 ? '-' : `${((100 * n) / of).toFixed(1)} %`);

function table(rows: Record<string, number>, header: string): string[] {
  const entries = Object.entries(rows).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return ['none', ''];
  return [`| ${header} | streams |`, '| --- | ---: |', ...entries.map(([k, v]) => `| ${k.replace(/\|/g, '\\|')} | ${v} |`), ''];
}

export function renderReport(r: SoakResult, v: Verdict, when = new Date()): string {
  const failed = sum(r.failed);
  const lines = [
    `# Soak report: ${v.pass ? 'PASS' : 'FAIL'}`,
    '',
    `${when.toISOString()}: ${r.options.durationMs / 60_000} min of load, ${r.options.workers} concurrent clients, ${r.nodes} nodes` +
      ` (real OpenSSH sshd in network namespaces), chaos for the first ${Math.round(r.chaosMs / 1000)} s, seed ${r.options.seed}.`,
    `Every stream has a ${r.options.streamDeadlineMs / 1000} s deadline; streams go through the daemon's HTTP CONNECT listener to pods,`,
    'the ClusterIP, node ports and kubelets: echo (every byte compared) and POST /sha256 (digest compared), kubelet /healthz over verified TLS.',
    '',
    ...(v.pass ? [] : ['## Problems', '', ...v.problems.map((p) => `- ${p}`), '']),
    '## Streams',
    '',
    '| | streams | share |',
    '| --- | ---: | ---: |',
    `| started | ${r.started} | |`,
    `| completed intact | ${r.intact} | ${pct(r.intact, r.started)} |`,
    `| failed with a clean error | ${failed} | ${pct(failed, r.started)} |`,
    `| hung | ${sum(r.hung)} | |`,
    `| corrupted | ${sum(r.corrupted)} | |`,
    '',
    `CONNECT answered (200) in p50 ${r.connectMs.p50.toFixed(1)} ms, p99 ${r.connectMs.p99.toFixed(1)} ms, max ${r.connectMs.max.toFixed(0)} ms.`,
    '',
    '| kind | started | intact |',
    '| --- | ---: | ---: |',
    ...Object.entries(r.byKind).map(([k, c]) => `| ${k} | ${c.started} | ${c.intact} |`),
    '',
    '### Failures by reason',
    '',
    ...table(r.failed, 'reason'),
    ...(sum(r.hung) > 0 ? ['### Hung', '', ...table(r.hung, 'stream')] : []),
    ...(sum(r.corrupted) > 0 ? ['### Corrupted', '', ...table(r.corrupted, 'stream')] : []),
    ...anomalies(r),
    '## Chaos',
    '',
    '| action | times |',
    '| --- | ---: |',
    ...Object.entries(r.chaos).map(([k, n]) => `| ${k} | ${n} |`),
    '',
    `All tunnels READY again ${r.recoveryMs === undefined ? 'NOT within 90 s' : `${(r.recoveryMs / 1000).toFixed(1)} s`} after chaos stopped.`,
    '',
    '## Daemon resources',
    '',
    '| when | s | fds | RSS |',
    '| --- | ---: | ---: | ---: |',
    ...r.samples
      .filter((s) => s.label !== 'load')
      .map((s) => `| ${s.label} | ${s.at} | ${s.fds} | ${mib(s.rssBytes)} |`),
    '',
    `Every ${5} s during the load: fds ${range(r.samples.map((s) => s.fds))}, RSS ${range(r.samples.map((s) => s.rssBytes), mib)}.`,
    `Exit on SIGTERM: ${r.daemonExitCode}.`,
    '',
  ];
  return lines.join('\n');
}

/** Each anomaly with the chaos actions of the 10 s before it, to see which fault it follows. */
function anomalies(r: SoakResult): string[] {
  if (r.anomalies.length === 0) return [];
  const lines = ['### Anomalies and the chaos before them', ''];
  for (const a of r.anomalies.slice(0, 20)) {
    const near = r.chaosEvents.filter((e) => e.at <= a.at + 30 && e.at >= a.at - 10).map((e) => `${e.at} s ${e.action} ${e.node}`);
    lines.push(`- ${a.at.toFixed(1)} s ${a.kind} ${a.target} (${a.node ?? 'any node'}): ${a.what}; chaos: ${near.join(', ') || 'none'}`);
  }
  return [...lines, ''];
}

function range(values: number[], fmt: (n: number) => string = String): string {
  if (values.length === 0) return '-';
  return `${fmt(Math.min(...values))} .. ${fmt(Math.max(...values))}`;
}
