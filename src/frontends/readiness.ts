import type { TunnelStatus } from '../tunnel/tunnel-status.js';
import { TunnelState } from '../tunnel/state.js';

export interface Readiness {
  ready: boolean;
  /** READY tunnels among the current nodes. */
  readyCount: number;
  /** Current nodes; tunnels that drain because their node left the inventory are not counted. */
  total: number;
  /** Why not: one line per node whose tunnel is not READY, or "no nodes in the inventory". */
  reasons: string[];
}

/**
 * Ready when the inventory is not empty and at least `readyFraction` (0..1) of its tunnels are READY and healthy.
 * Draining tunnels are left out: a removed node is neither a reason to be ready nor one not to be, and a
 * node whose connection settings changed has both an old draining tunnel and a new one under one name.
 */
export function readiness(statuses: readonly TunnelStatus[], readyFraction: number): Readiness {
  const current = statuses.filter((s) => !s.draining);
  const readyCount = current.filter(usable).length;
  const total = current.length;
  const reasons = total === 0 ? ['no nodes in the inventory'] : current.filter((s) => !usable(s)).map(describeTunnel);
  return { ready: total > 0 && readyCount / total >= readyFraction, readyCount, total, reasons };
}

/** "1 of 3 tunnels READY (need 50%)", for /readyz and logs. */
export function readinessSummary(r: Readiness, readyFraction: number): string {
  return `${r.readyCount} of ${r.total} tunnels READY (need ${formatPercent(readyFraction)})`;
}

/** READY and not marked unhealthy by its health check (which keeps the connection but takes the node out of routing). */
function usable(s: TunnelStatus): boolean {
  return s.state === TunnelState.READY && s.health?.healthy !== false;
}

function describeTunnel(s: TunnelStatus): string {
  if (s.state === TunnelState.READY && s.health) return `${s.node} READY but unhealthy: ${s.health.lastProbeErrorCode}: ${s.health.lastProbeError}`;
  return `${s.node} ${s.state}${s.lastError ? `: ${s.lastError.message}` : ''}`;
}

function formatPercent(fraction: number): string {
  return `${Number((fraction * 100).toFixed(1))}%`;
}
