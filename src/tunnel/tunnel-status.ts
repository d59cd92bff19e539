import type { HealthStatus } from './health-monitor.js';
import type { TunnelSnapshot } from './tunnel.js';

/** One tunnel as the pool reports it: the tunnel's own state and, when a health check runs, that check's view. */
export interface TunnelStatus extends TunnelSnapshot {
  health?: HealthStatus | undefined;
}
