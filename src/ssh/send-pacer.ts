/**
 * The queue a new stream waits behind is the data the other channels of its connection have sent and sshd
 * has not yet taken in: sshd grants each channel 2 MiB of window, so four uploads keep ~8 MiB in the
 * kernel buffers between us and sshd, and a dial's CHANNEL_OPEN and first bytes wait ~14 ms behind it, twice.
 * The pacer keeps the sum over a connection's channels under a budget instead: a channel may send while the
 * connection is under budget, or while the channel itself has less in flight than sshd needs to see before
 * it acknowledges (so no channel can wait for an acknowledgement that never comes).
 */

/** ssh2's own count of what the node still lets a channel send (`outgoing.window`, ssh2 1.x), and its packet size. */
export interface WindowedChannel {
  readonly outgoing?: { window?: number; packetSize?: number };
}

/**
 * What one channel may always have in flight to OpenSSH's sshd: its channel_check_window() acknowledges once
 * more than three packets are unacknowledged, so four always draw an acknowledgement. For other servers the
 * rule is unknown and channels are not paced (the floor is their whole window).
 * @param remoteSoftware the server's software as its banner gives it ("OpenSSH_9.2p1 Debian-2+deb12u10")
 */
export function pacingFloor(remoteSoftware: unknown, channel: WindowedChannel): number {
  const window = channel.outgoing?.window ?? 0;
  const packetSize = channel.outgoing?.packetSize;
  if (typeof remoteSoftware !== 'string' || !remoteSoftware.startsWith('OpenSSH') || !packetSize) return window;
  return Math.min(window, 4 * packetSize);
}

/** One channel's share: its window when it opened, and what it had in flight when last looked at. */
export class ChannelCredit {
  inFlight = 0;
  readonly waiters: Array<() => void> = [];

  constructor(
    readonly channel: WindowedChannel,
    readonly initialWindow: number,
    /** What the channel may always have in flight: more than the node needs to see before it acknowledges. */
    readonly floor: number,
  ) {}
}

export class SendPacer {
  private total = 0;
  /** Channels last seen with data in flight: re-read after every read from the node. */
  private readonly busy = new Set<ChannelCredit>();
  /** Channels with writers waiting, in the order they began to wait. */
  private readonly waiting = new Set<ChannelCredit>();

  /** @param budget bytes in flight on the connection, summed over its channels, before channels wait */
  constructor(private readonly budget: number) {}

  /** Sum over the connection's channels of what they sent and the node has not acknowledged (as last read). */
  get inFlight(): number {
    return this.total;
  }

  /** Starts counting a newly opened channel; a floor at or above its window leaves it unpaced. */
  track(channel: WindowedChannel, floor: number): ChannelCredit {
    return new ChannelCredit(channel, channel.outgoing?.window ?? 0, floor);
  }

  /** Calls `proceed` (which writes to the channel) once the channel may send; counts what it wrote. */
  whenAllowed(credit: ChannelCredit, proceed: () => void): void {
    this.observe(credit);
    if (credit.waiters.length === 0 && this.allows(credit)) {
      this.run(credit, proceed);
      return;
    }
    credit.waiters.push(proceed);
    this.waiting.add(credit);
  }

  /** Bytes `credit`'s channel may still send before it would wait: the connection's budget left, or its own floor. */
  room(credit: ChannelCredit): number {
    return Math.max(this.budget - this.total, credit.floor - credit.inFlight);
  }

  /** After a read from the node (window adjusts arrive in it): re-read what is in flight, let writers go on. */
  refresh(): void {
    for (const credit of this.busy) this.observe(credit);
    for (const credit of this.waiting) {
      while (credit.waiters.length > 0 && this.allows(credit)) this.run(credit, credit.waiters.shift()!);
      if (credit.waiters.length === 0) this.waiting.delete(credit);
    }
  }

  /** The channel closed: what it had in flight no longer counts; its waiting writers go on (and fail). */
  forget(credit: ChannelCredit): void {
    this.total -= credit.inFlight;
    credit.inFlight = 0;
    this.busy.delete(credit);
    this.waiting.delete(credit);
    for (const proceed of credit.waiters.splice(0)) proceed();
  }

  /** The connection closed: every waiting writer goes on (and fails). */
  releaseAll(): void {
    for (const credit of [...this.waiting]) this.forget(credit);
  }

  private allows(credit: ChannelCredit): boolean {
    return this.total < this.budget || credit.inFlight < credit.floor;
  }

  private run(credit: ChannelCredit, proceed: () => void): void {
    proceed();
    this.observe(credit); // the write went to ssh2 synchronously: count it now, before the next writer is let in
  }

  private observe(credit: ChannelCredit): void {
    const window = credit.channel.outgoing?.window ?? credit.initialWindow;
    const inFlight = Math.max(0, credit.initialWindow - window);
    this.total += inFlight - credit.inFlight;
    credit.inFlight = inFlight;
    if (inFlight > 0) this.busy.add(credit);
    else this.busy.delete(credit);
  }
}
