import { CHECK_STEPS, failedStep, type CheckStep, type CheckStepName, type NodeCheckResult } from '../../check/check-result.js';
import type { Palette } from './colour.js';
import { formatMs, shortFingerprint } from './format.js';
import { renderTable, type Cell, type Column } from './table.js';

/** `check`'s table: one row per node, the failed step's reason in plain words in ERROR. */
export function renderCheckTable(results: readonly NodeCheckResult[], colours: Palette): string {
  const columns: Column[] = [
    { header: 'NODE' },
    { header: 'ADDRESS' },
    { header: 'SSH' },
    { header: 'HOST KEY' },
    { header: 'AUTH' },
    { header: 'KUBELET' },
    { header: 'CERT DAYS', align: 'right' },
    { header: 'TIME', align: 'right' },
    { header: 'ERROR' },
  ];
  const rows = results.map((r) => [
    r.name,
    addressOf(r),
    sshCell(r),
    hostKeyCell(r, shortFingerprint(r.hostKeyFingerprint)),
    authCell(step(r, 'auth')),
    kubeletCell(r),
    certDaysCell(r),
    formatMs(r.ms),
    errorText(r),
  ]);
  return renderTable(columns, rows, colours);
}

/** `check --output wide`: every step's time, the full fingerprint and the kubelet certificate's subject. */
export function renderCheckWideTable(results: readonly NodeCheckResult[], colours: Palette): string {
  const columns: Column[] = [
    { header: 'NODE' },
    { header: 'ADDRESS' },
    ...CHECK_STEPS.map((s): Column => ({ header: s.toUpperCase(), align: 'right' })),
    { header: 'HOST KEY' },
    { header: 'HEALTHZ' },
    { header: 'CERT DAYS', align: 'right' },
    { header: 'CERT VERIFIED' },
    { header: 'CERT SUBJECT' },
    { header: 'TIME', align: 'right' },
    { header: 'ERROR' },
  ];
  const rows = results.map((r) => [
    r.name,
    addressOf(r),
    ...CHECK_STEPS.map((s) => stepTimeCell(step(r, s))),
    hostKeyCell(r, r.hostKeyFingerprint ?? '-'),
    healthzCell(r),
    certDaysCell(r),
    r.kubelet?.certificate ? (r.kubelet.verified ? { text: 'yes', style: 'ok' as const } : { text: 'no', style: 'warn' as const }) : '-',
    r.kubelet?.certificate?.subject ?? '-',
    formatMs(r.ms),
    errorText(r),
  ]);
  return renderTable(columns, rows, colours);
}

/** "3 of 4 nodes reachable; failed at tcp: 1, auth: 1". */
export function checkSummary(results: readonly NodeCheckResult[]): string {
  const ok = results.filter((r) => r.ok).length;
  const byStep = new Map<CheckStepName, number>();
  for (const r of results) {
    const failed = failedStep(r);
    if (failed) byStep.set(failed.name, (byStep.get(failed.name) ?? 0) + 1);
  }
  const where = CHECK_STEPS.filter((s) => byStep.has(s)).map((s) => `${s}: ${byStep.get(s)}`);
  const noun = results.length === 1 ? 'node' : 'nodes';
  return `${ok} of ${results.length} ${noun} reachable${where.length > 0 ? `; failed at ${where.join(', ')}` : ''}`;
}

const OK: Cell = { text: 'ok', style: 'ok' };
const SKIPPED: Cell = { text: '-', style: 'dim' };
const HOST_KEY_WORDS: Readonly<Record<string, string>> = {
  ERR_HOST_KEY_MISMATCH: 'mismatch',
  ERR_HOST_KEY_UNKNOWN: 'unknown',
  ERR_HOST_KEY_REVOKED: 'revoked',
  ERR_KNOWN_HOSTS: 'unusable',
};

function step(r: NodeCheckResult, name: CheckStepName): CheckStep | undefined {
  return r.steps.find((s) => s.name === name);
}

function addressOf(r: NodeCheckResult): string {
  if (r.sshPort === 22) return r.address;
  return r.address.includes(':') ? `[${r.address}]:${r.sshPort}` : `${r.address}:${r.sshPort}`;
}

/** TCP and the SSH handshake; a host-key refusal is shown under HOST KEY, since the SSH side worked. */
function sshCell(r: NodeCheckResult): Cell {
  const tcp = step(r, 'tcp');
  const handshake = step(r, 'handshake');
  if (tcp?.skipped) return SKIPPED;
  if (!tcp?.ok) return { text: 'failed', style: 'fail' };
  if (handshake?.ok || (handshake?.error && handshake.error.code in HOST_KEY_WORDS)) return OK;
  return { text: 'failed', style: 'fail' };
}

function hostKeyCell(r: NodeCheckResult, fingerprint: string): Cell {
  const handshake = step(r, 'handshake');
  if (handshake?.ok) return { text: fingerprint };
  const word = handshake?.error && HOST_KEY_WORDS[handshake.error.code];
  return word ? { text: word, style: 'fail' } : SKIPPED;
}

function authCell(s: CheckStep | undefined): Cell {
  if (!s || s.skipped) return SKIPPED;
  if (s.ok) return OK;
  return { text: s.error?.code === 'ERR_AUTH' ? 'refused' : 'failed', style: 'fail' };
}

function kubeletCell(r: NodeCheckResult): Cell {
  const channel = step(r, 'channel');
  const kubelet = step(r, 'kubelet');
  if (kubelet?.ok) return OK;
  if (channel && !channel.ok && !channel.skipped) return { text: 'no channel', style: 'fail' };
  if (!kubelet || kubelet.skipped) return SKIPPED;
  const code = kubelet.error?.code;
  if (code === 'ERR_KUBELET_CERT') return { text: 'bad cert', style: 'fail' };
  if (r.kubelet?.status) return { text: `HTTP ${r.kubelet.status}`, style: 'fail' };
  return { text: code === 'ERR_DIAL_TIMEOUT' ? 'timeout' : 'failed', style: 'fail' };
}

/** The kubelet's answer to /healthz in the wide table, where KUBELET is that step's time. */
function healthzCell(r: NodeCheckResult): Cell {
  const cell = kubeletCell(r);
  return cell === OK && r.kubelet?.status ? { text: String(r.kubelet.status), style: 'ok' } : cell;
}

/** Days left on the kubelet's certificate: yellow under 30, red once expired. */
function certDaysCell(r: NodeCheckResult): Cell {
  const days = r.kubelet?.certificate?.daysToExpiry;
  if (days === undefined) return SKIPPED;
  return { text: String(days), ...(days < 0 ? { style: 'fail' as const } : days < 30 ? { style: 'warn' as const } : {}) };
}

function stepTimeCell(s: CheckStep | undefined): Cell {
  if (!s || s.skipped) return SKIPPED;
  return s.ok ? { text: formatMs(s.ms) } : { text: 'failed', style: 'fail' };
}

function errorText(r: NodeCheckResult): string {
  return failedStep(r)?.error?.message ?? '';
}
