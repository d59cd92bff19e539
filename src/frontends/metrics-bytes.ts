import { TunnelState } from '../tunnel/state.js';
import type { Tunnel } from '../tunnel/tunnel.js';

interface Totals {
  in: number;
  out: number;
}

/**
 * Turns per-tunnel byte totals into increments for a counter that never goes down. A tunnel's totals
 * grow (closed streams' bytes are kept), but a removed node's tunnel disappears and a node whose
 * connection settings changed gets a fresh tunnel under the same name; summing `pool.status()` would then
 * fall. So tunnels are followed as objects, not by name: each one's last-seen totals are remembered, only
 * positive deltas are added, and a tunnel is forgotten once it is shut down with no stream left (its
 * totals are final then).
 */
export class StreamByteTotals {
  private readonly lastSeen = new Map<Tunnel, Totals>();

  /** Follows these tunnels from now on; tunnels already followed keep their last-seen totals. */
  track(tunnels: Iterable<Tunnel>): void {
    for (const tunnel of tunnels) {
      if (!this.lastSeen.has(tunnel)) this.lastSeen.set(tunnel, { in: 0, out: 0 });
    }
  }

  /** Bytes carried since the previous call, over every followed tunnel. */
  takeDeltas(): Totals {
    const delta: Totals = { in: 0, out: 0 };
    for (const [tunnel, last] of this.lastSeen) {
      const s = tunnel.status();
      if (s.bytesIn > last.in) {
        delta.in += s.bytesIn - last.in;
        last.in = s.bytesIn;
      }
      if (s.bytesOut > last.out) {
        delta.out += s.bytesOut - last.out;
        last.out = s.bytesOut;
      }
      if (s.state === TunnelState.SHUTDOWN && s.openStreams === 0) this.lastSeen.delete(tunnel);
    }
    return delta;
  }
}
