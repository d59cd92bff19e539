import type { AdminStatus } from '../../daemon/admin-status.js';
import type { TunnelStatus } from '../../tunnel/tunnel.js';
import type { Palette, Style } from './colour.js';
import { formatAge, formatBytes, formatMs, formatSeconds, formatUntil, shortFingerprint } from './format.js';
import { renderTable, type Cell, type Column } from './table.js';

/** `status`: the daemon's tunnels in check's table style. */
export function renderStatusTable(status: AdminStatus, colours: Palette, now: number = Date.now()): string {
  const columns: Column[] = [
    { header: 'NODE' },
    { header: 'ADDRESS' },
    { header: 'STATE' },
    { header: 'SINCE', align: 'right' },
    { header: 'STREAMS', align: 'right' },
    { header: 'RTT', align: 'right' },
    { header: 'HOST KEY' },
    { header: 'LAST ERROR' },
  ];
  const rows = status.tunnels.map((t) => [
    t.node,
    addressOf(t),
    stateCell(t),
    formatAge(t.since, now),
    String(t.openStreams),
    formatMs(t.health?.rttMs),
    shortFingerprint(t.hostKeyFingerprint),
    lastError(t),
  ]);
  return renderTable(columns, rows, colours);
}

/** `status -o wide`: attempts, next retry, bytes and probe failures, full fingerprints. */
export function renderStatusWideTable(status: AdminStatus, colours: Palette, now: number = Date.now()): string {
  const columns: Column[] = [
    { header: 'NODE' },
    { header: 'ADDRESS' },
    { header: 'STATE' },
    { header: 'SINCE', align: 'right' },
    { header: 'ATTEMPTS', align: 'right' },
    { header: 'NEXT RETRY', align: 'right' },
    { header: 'STREAMS', align: 'right' },
    { header: 'BYTES IN', align: 'right' },
    { header: 'BYTES OUT', align: 'right' },
    { header: 'RTT', align: 'right' },
    { header: 'PROBE FAILURES', align: 'right' },
    { header: 'HOST KEY' },
    { header: 'LAST ERROR' },
  ];
  const rows = status.tunnels.map((t) => [
    t.node,
    addressOf(t),
    stateCell(t),
    formatAge(t.since, now),
    String(t.attempts),
    formatUntil(t.nextRetryAt, now),
    String(t.openStreams),
    formatBytes(t.bytesIn),
    formatBytes(t.bytesOut),
    formatMs(t.health?.rttMs),
    t.health ? String(t.health.consecutiveFailures) : '-',
    t.hostKeyFingerprint ?? '-',
    lastError(t),
  ]);
  return renderTable(columns, rows, colours);
}

/** "ready: 2 of 3 tunnels READY (need 50%)", or "not ready: ...". */
export function statusSummary(status: AdminStatus): string {
  const r = status.ready;
  const need = `${Number((r.readyFraction * 100).toFixed(1))}%`;
  return `${r.ready ? 'ready' : 'not ready'}: ${r.readyCount} of ${r.total} tunnels READY (need ${need}); daemon ${status.version}, up ${formatSeconds(status.uptimeSeconds)}`;
}

const STATE_STYLES: Readonly<Record<string, Style>> = {
  READY: 'ok',
  CONNECTING: 'warn',
  TRANSIENT_FAILURE: 'fail',
  IDLE: 'dim',
  SHUTDOWN: 'dim',
};

function stateCell(t: TunnelStatus): Cell {
  const text = t.draining ? `${t.state} (draining)` : t.state;
  const style = STATE_STYLES[t.state];
  return style ? { text, style } : { text };
}

function addressOf(t: TunnelStatus): string {
  if (t.sshPort === 22) return t.address;
  return t.address.includes(':') ? `[${t.address}]:${t.sshPort}` : `${t.address}:${t.sshPort}`;
}

/** The connection's last error, else the health probe's: what an operator needs first. */
function lastError(t: TunnelStatus): string {
  if (t.state !== 'READY' && t.lastError) return t.lastError.message;
  return t.health?.lastProbeError ?? '';
}
