import type net from 'node:net';

/**
 * ssh2 ignores `sock.write()`'s return value, so nothing stops a connection's socket buffer from growing
 * without bound. Streams ask here before they write: `proceed` runs while the buffer is under its limit,
 * otherwise once it drains, in arrival order, so one busy stream cannot starve the rest.
 */
export class SocketWriteGate {
  private readonly waiters: Array<() => void> = [];
  private released = false;

  constructor(
    private readonly sock: net.Socket,
    private readonly maxBufferedBytes: number,
  ) {
    sock.on('drain', () => this.flush());
  }

  /** Bytes the socket may still take before writers wait. */
  get room(): number {
    return this.maxBufferedBytes - this.sock.writableLength;
  }

  whenRoom(proceed: () => void): void {
    if (this.released || (this.waiters.length === 0 && this.sock.writableLength < this.maxBufferedBytes)) {
      proceed();
      return;
    }
    this.waiters.push(proceed);
  }

  /** The connection closed: every waiting writer goes on (and fails), and later ones do not wait. */
  releaseAll(): void {
    this.released = true;
    this.flush();
  }

  private flush(): void {
    while (this.waiters.length > 0 && (this.released || this.sock.writableLength < this.maxBufferedBytes)) {
      this.waiters.shift()?.();
    }
  }
}
