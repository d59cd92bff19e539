import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Client } from 'ssh2';
import { ChannelOpenError, TunnelClosedError } from '../errors.js';
import type { SshSession } from './ssh-session.js';

/** What ssh2 says when the connection died with channel opens outstanding. */
const CONNECTION_GONE = 'No response from server';

/** An SshSession over a ready ssh2 Client and the TCP socket we gave it. */
export class Ssh2Session implements SshSession {
  private closeListener: ((error: Error | undefined) => void) | undefined;
  private closed = false;
  private closing = false;
  private lastError: Error | undefined;
  private readonly writeWaiters: Array<() => void> = [];

  constructor(
    private readonly client: Client,
    private readonly sock: net.Socket,
    private readonly node: string,
    readonly hostKeyFingerprint: string,
    /** Bytes the TCP socket may hold before streams wait (ssh2 itself never waits). */
    private readonly maxWriteBufferBytes: number,
  ) {
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
    client.on('close', () => {
      this.closed = true;
      this.flushWriters();
      const error = this.closing ? undefined : (this.lastError ?? new Error('connection closed by the node'));
      this.closeListener?.(error);
    });
    sock.on('drain', () => this.flushWriters());
  }

  openChannel(host: string, port: number): Promise<Duplex> {
    const target = `${host}:${port}`;
    if (this.closed) return Promise.reject(new TunnelClosedError(this.node, 'connection closed', { target }));
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        if (!err) {
          resolve(channel);
          return;
        }
        if (err.message === CONNECTION_GONE || this.closed) {
          reject(new TunnelClosedError(this.node, 'connection lost while the channel was opening', { target, cause: err }));
          return;
        }
        const reason = (err as Error & { reason?: unknown }).reason;
        reject(new ChannelOpenError(this.node, target, typeof reason === 'number' ? reason : undefined, err.message, err));
      });
    });
  }

  whenWritable(proceed: () => void): void {
    if (this.closed || (this.writeWaiters.length === 0 && this.sock.writableLength < this.maxWriteBufferBytes)) {
      proceed();
      return;
    }
    this.writeWaiters.push(proceed);
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.client.end();
    // end() waits politely for the node; a dead node would never answer, so bound it.
    setTimeout(() => this.sock.destroy(), 2_000).unref();
  }

  onClose(listener: (error: Error | undefined) => void): void {
    this.closeListener = listener;
  }

  /** Lets waiting streams write in arrival order while the buffer has room, so one busy stream cannot starve the rest. */
  private flushWriters(): void {
    while (this.writeWaiters.length > 0 && (this.closed || this.sock.writableLength < this.maxWriteBufferBytes)) {
      this.writeWaiters.shift()?.();
    }
  }
}
