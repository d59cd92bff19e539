/**
 * A count of pending dials shared by every tunnel of a pool (maxPendingDials). Each tunnel has its own
 * bound too, but a thousand nodes times a per-tunnel bound is no bound at all: this one caps the sum, so
 * a burst of dials while many tunnels reconnect (or hang) cannot hold unbounded memory and timers.
 */
export class DialBudget {
  private taken = 0;

  /** Changed in place when the pool's options are (a reload): pending dials over a lowered limit finish. */
  constructor(public limit: number) {}

  get pending(): number {
    return this.taken;
  }

  /** Takes one slot; false when all are taken. Every true must be paired with exactly one release(). */
  tryTake(): boolean {
    if (this.taken >= this.limit) return false;
    this.taken += 1;
    return true;
  }

  release(): void {
    if (this.taken > 0) this.taken -= 1;
  }
}
