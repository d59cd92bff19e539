import type { AdminStatus } from '../../frontends/admin-status.js';
import { inventoryReadiness } from '../../frontends/inventory-status.js';
import type { TunnelStatus } from '../../tunnel/tunnel-status.js';
import type { Palette, Style } from './colour.js';
import { formatAge, formatBytes, formatMs, formatSeconds, formatUntil, shortFingerprint } from './format.js';
import { renderTable, type Cell, type CellInput, type Column } from './table.js';

interface StatusColumn extends Column {
  /** Only in `-o wide`. */
  wide?: boolean;
  cell(t: TunnelStatus, now: number, wide: boolean): CellInput;
}

/** Both tables from one list, so narrow and wide never disagree about a column. */
const STATUS_COLUMNS: readonly StatusColumn[] = [
  { header: 'NODE', cell: (t) => t.node },
  { header: 'ADDRESS', cell: (t) => addressOf(t) },
  { header: 'DIRECTION', cell: (t) => t.direction },
  { header: 'AGENT', wide: true, cell: (t) => agentOf(t) },
  { header: 'STATE', cell: (t) => stateCell(t) },
  { header: 'SINCE', align: 'right', cell: (t, now) => formatAge(t.since, now) },
  { header: 'ATTEMPTS', align: 'right', wide: true, cell: (t) => String(t.attempts) },
  { header: 'NEXT RETRY', align: 'right', wide: true, cell: (t, now) => formatUntil(t.nextRetryAt, now) },
  { header: 'STREAMS', align: 'right', cell: (t) => String(t.openStreams) },
  { header: 'CONNECTIONS', align: 'right', wide: true, cell: (t) => String(t.connections) },
  { header: 'IN FLIGHT', align: 'right', wide: true, cell: (t) => formatBytes(t.inFlightBytes) },
  { header: 'BYTES IN', align: 'right', wide: true, cell: (t) => formatBytes(t.bytesIn) },
  { header: 'BYTES OUT', align: 'right', wide: true, cell: (t) => formatBytes(t.bytesOut) },
  { header: 'RTT', align: 'right', cell: (t) => formatMs(t.health?.rttMs) },
  { header: 'PROBE FAILURES', align: 'right', wide: true, cell: (t) => (t.health ? String(t.health.consecutiveFailures) : '-') },
  { header: 'HOST KEY', cell: (t, _now, wide) => (wide ? (t.hostKeyFingerprint ?? '-') : shortFingerprint(t.hostKeyFingerprint)) },
  { header: 'LAST ERROR', cell: (t) => lastError(t) },
];

function renderStatus(status: AdminStatus, colours: Palette, now: number, wide: boolean): string {
  const columns = STATUS_COLUMNS.filter((c) => wide || !c.wide);
  const rows = status.tunnels.map((t) => columns.map((c) => c.cell(t, now, wide)));
  return renderTable(columns.map(({ header, align }) => (align ? { header, align } : { header })), rows, colours);
}

/** `status`: the daemon's tunnels in check's table style. */
export function renderStatusTable(status: AdminStatus, colours: Palette, now: number = Date.now()): string {
  return renderStatus(status, colours, now, false);
}

/** `status -o wide`: attempts, next retry, bytes and probe failures, full fingerprints. */
export function renderStatusWideTable(status: AdminStatus, colours: Palette, now: number = Date.now()): string {
  return renderStatus(status, colours, now, true);
}

/** "ready: 2 of 3 tunnels READY (need 50%)", or "not ready: ...". */
export function statusSummary(status: AdminStatus): string {
  const r = status.ready;
  const need = `${Number((r.readyFraction * 100).toFixed(1))}%`;
  return `${r.ready ? 'ready' : 'not ready'}: ${r.readyCount} of ${r.total} tunnels READY (need ${need}); daemon ${status.version}, up ${formatSeconds(status.uptimeSeconds)}`;
}

/** The inventory line of /readyz?verbose, flagged when it is stale; undefined from a daemon that does not report it. */
export function inventorySummary(status: AdminStatus, colours: Palette, now: number = Date.now()): string | undefined {
  if (!status.inventory) return undefined;
  const { line, stale } = inventoryReadiness(status.inventory, undefined, now);
  return colours.paint(line, stale ? 'warn' : undefined);
}

const STATE_STYLES: Readonly<Record<string, Style>> = {
  READY: 'ok',
  CONNECTING: 'warn',
  TRANSIENT_FAILURE: 'fail',
  IDLE: 'dim',
  SHUTDOWN: 'dim',
};

function stateCell(t: TunnelStatus): Cell {
  // Connected but taking no dials: its health check fails (the probe's error is in the last column).
  if (t.state === 'READY' && t.health?.healthy === false) return { text: 'READY (unhealthy)', style: 'fail' };
  const text = t.draining ? `${t.state} (draining)` : t.state;
  const style = STATE_STYLES[t.state];
  return style ? { text, style } : { text };
}

function addressOf(t: TunnelStatus): string {
  if (t.sshPort === 22) return t.address;
  return t.address.includes(':') ? `[${t.address}]:${t.sshPort}` : `${t.address}:${t.sshPort}`;
}

/** Where a reverse tunnel's agent connects from. */
function agentOf(t: TunnelStatus): string {
  if (!t.agent) return '-';
  const { remoteAddress: host, remotePort: port } = t.agent;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The connection's last error, else the health probe's: what an operator needs first. */
function lastError(t: TunnelStatus): string {
  if (t.state !== 'READY' && t.lastError) return t.lastError.message;
  return t.health?.lastProbeError ?? '';
}
