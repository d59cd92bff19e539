import { TunnelUnavailableError } from '../errors.js';
import { TunnelState } from '../tunnel/state.js';
import type { Tunnel } from '../tunnel/tunnel.js';

/**
 * Chooses the tunnel for a destination any node can reach (a ClusterIP): the READY tunnel with the
 * fewest open streams, rotating among equals so load spreads even when all are idle. With none READY it
 * takes one that is connecting, so the dial waits instead of failing while the pool starts. `usable` leaves
 * tunnels out in the same pass (a node whose health check fails), so a dial builds no filtered copy.
 */
export class SpreadPicker {
  private cursor = 0;

  pick(tunnels: readonly Tunnel[], target: string, usable: (tunnel: Tunnel) => boolean = () => true): Tunnel {
    const n = tunnels.length;
    const start = this.cursor++ % Math.max(1, n);
    let best: Tunnel | undefined;
    for (let i = 0; i < n; i++) {
      const tunnel = tunnels[(start + i) % n];
      if (tunnel?.currentState !== TunnelState.READY || !usable(tunnel)) continue;
      if (!best || tunnel.openStreams < best.openStreams) best = tunnel;
    }
    best ??= tunnels.find((t) => (t.currentState === TunnelState.CONNECTING || t.currentState === TunnelState.IDLE) && usable(t));
    if (!best) throw new TunnelUnavailableError('(any)', 'TRANSIENT_FAILURE', `no tunnel can carry ${target}: none is ready`);
    return best;
  }
}
