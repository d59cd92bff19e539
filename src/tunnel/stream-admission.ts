import { DialQueueFullError, StreamLimitError, type EgressError } from '../errors.js';
import type { DialBudget } from './dial-budget.js';
import type { TunnelSocket } from './tunnel-socket.js';

export interface StreamAdmissionLimits {
  /** Dials that may be pending on this tunnel (waiting for it to connect or for their channel to open). */
  maxPendingDials: number;
  /** The pool-wide count of pending dials, shared by every tunnel. Default: none. */
  dialBudget?: DialBudget | undefined;
  /** Streams open (or opening) at once. Default: no limit. */
  maxStreams?: number | undefined;
}

/**
 * What one tunnel lets through: pending dials against its own bound and the pool's budget, streams against
 * maxStreams, and the open streams themselves with the bytes they carried. It knows nothing of the
 * connection's state; the Tunnel asks it before and after each step of a dial.
 */
export class StreamAdmission {
  private readonly streams = new Set<TunnelSocket>();
  /** Dials inside openStream(): waiting for the connection or for their channel. */
  private pending = 0;
  /** Channels being opened; they count against maxStreams, or a burst could overshoot it. */
  private openingChannels = 0;
  /** Bytes of streams already closed. */
  private closedBytesIn = 0;
  private closedBytesOut = 0;

  /** `onStreamClosed` hears each close after the stream left the count (the Tunnel finishes a drain on it). */
  constructor(
    private readonly node: string,
    private readonly limits: StreamAdmissionLimits,
    private readonly onStreamClosed: (openStreams: number) => void = () => undefined,
  ) {}

  get pendingDials(): number {
    return this.pending;
  }

  get openStreams(): number {
    return this.streams.size;
  }

  /** Bytes carried by every stream so far, open ones included. */
  get bytes(): { bytesIn: number; bytesOut: number } {
    let bytesIn = this.closedBytesIn;
    let bytesOut = this.closedBytesOut;
    for (const s of this.streams) {
      bytesIn += s.bytesRead;
      bytesOut += s.bytesWritten;
    }
    return { bytesIn, bytesOut };
  }

  /**
   * Counts one pending dial against this tunnel's bound and the pool's; throws DialQueueFullError when
   * either is reached. Returns the release, to be called when the dial settles (a second call does nothing).
   */
  admitDial(target: string): () => void {
    if (this.pending >= this.limits.maxPendingDials) {
      throw new DialQueueFullError(this.node, target, this.limits.maxPendingDials, 'tunnel');
    }
    const budget = this.limits.dialBudget;
    if (budget && !budget.tryTake()) throw new DialQueueFullError(this.node, target, budget.limit, 'pool');
    this.pending += 1;
    return once(() => {
      this.pending -= 1;
      budget?.release();
    });
  }

  /**
   * Reserves a place for a channel about to open; throws StreamLimitError when open and opening streams
   * reach maxStreams. Returns the release, to be called once the open settled (before track()).
   */
  reserveChannel(target: string): () => void {
    const maxStreams = this.limits.maxStreams ?? Infinity;
    if (this.streams.size + this.openingChannels >= maxStreams) throw new StreamLimitError(this.node, target, maxStreams);
    this.openingChannels += 1;
    return once(() => {
      this.openingChannels -= 1;
    });
  }

  /** Counts an opened stream until it closes, then adds its bytes to the totals. */
  track(socket: TunnelSocket): void {
    this.streams.add(socket);
    socket.once('close', () => {
      this.streams.delete(socket);
      this.closedBytesIn += socket.bytesRead;
      this.closedBytesOut += socket.bytesWritten;
      this.onStreamClosed(this.streams.size);
    });
  }

  /** Destroys every open stream with `error` (the connection under them is gone). */
  failAll(error: EgressError): void {
    for (const stream of this.streams) stream.destroy(error);
  }
}

function once(release: () => void): () => void {
  let released = false;
  return () => {
    if (released) return;
    released = true;
    release();
  };
}
