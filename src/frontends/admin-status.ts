import type { NodeWithoutTunnel } from '../tunnel/nodes-without-tunnel.js';
import type { TunnelStatus } from '../tunnel/tunnel-status.js';
import type { InventoryStatus } from './inventory-status.js';
import type { Readiness } from './readiness.js';

/** The body of GET /status. */
export interface AdminStatus {
  version: string;
  uptimeSeconds: number;
  ready: Readiness & { readyFraction: number };
  tunnels: TunnelStatus[];
  /** Inventory nodes with no READY tunnel on this replica (for a reverse node: no agent connected here). */
  nodesWithoutTunnel: NodeWithoutTunnel[];
  /** Where the nodes come from and how current they are (absent for a library-built admin server without one). */
  inventory?: InventoryStatus;
}

/**
 * Copies each tunnel's status field by field. TunnelStatus holds no secret today; an allowlist keeps it
 * that way when a field is added to it later (a new field shows up here only when someone adds it).
 */
export function publicTunnelStatus(s: TunnelStatus): TunnelStatus {
  return {
    node: s.node,
    address: s.address,
    sshPort: s.sshPort,
    mode: s.mode,
    direction: s.direction,
    agent: s.agent && { remoteAddress: s.agent.remoteAddress, remotePort: s.agent.remotePort },
    state: s.state,
    since: s.since,
    lastError: s.lastError && { code: s.lastError.code, message: s.lastError.message },
    attempts: s.attempts,
    nextRetryAt: s.nextRetryAt,
    hostKeyFingerprint: s.hostKeyFingerprint,
    draining: s.draining,
    openStreams: s.openStreams,
    connections: s.connections,
    inFlightBytes: s.inFlightBytes,
    bytesIn: s.bytesIn,
    bytesOut: s.bytesOut,
    health: s.health && {
      healthy: s.health.healthy,
      lastProbeAt: s.health.lastProbeAt,
      rttMs: s.health.rttMs,
      consecutiveFailures: s.health.consecutiveFailures,
      lastProbeError: s.health.lastProbeError,
      lastProbeErrorCode: s.health.lastProbeErrorCode,
      kubeletVerified: s.health.kubeletVerified,
    },
  };
}
