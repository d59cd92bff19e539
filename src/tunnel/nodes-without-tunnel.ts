import type { TunnelDirection, TunnelMode } from '../nodes/tunnel-mode.js';
import { TunnelState } from './state.js';
import type { TunnelSnapshot } from './tunnel.js';

/** A node of the inventory that this replica cannot carry streams to right now. */
export interface NodeWithoutTunnel {
  node: string;
  mode: TunnelMode;
  direction: TunnelDirection;
  state: TunnelState;
  /** The tunnel's last error ("no agent of node n1 is connected to this replica"), or its state. */
  reason: string;
}

/** The current (not draining) tunnels that are not READY, as /readyz?verbose and /status list them. */
export function withoutTunnel(snapshots: readonly TunnelSnapshot[]): NodeWithoutTunnel[] {
  return snapshots
    .filter((s) => !s.draining && s.state !== TunnelState.READY)
    .map((s) => ({
      node: s.node,
      mode: s.mode,
      direction: s.direction,
      state: s.state,
      reason: s.lastError?.message ?? (s.state === TunnelState.CONNECTING ? 'connecting' : 'not connected yet'),
    }));
}
