import { Duplex } from 'node:stream';
import type { SshChannel } from '../ssh/ssh-session.js';

/** What one write hands the channel at least when it has more: what `pipe` from a TCP socket delivers anyway. */
const MIN_SLICE_BYTES = 64 * 1024;
/**
 * The most, when the connection's limits have that much room: ssh2 (patched, patches/) hands one channel
 * write's packets to the socket together, so larger slices mean fewer system calls (measured in BENCHMARKS.md).
 */
const MAX_SLICE_BYTES = 256 * 1024;

/** A slice as large as the limits' room allows, between the bounds, so a slice never passes them by more than before. */
function sliceBytes(room: number | undefined): number {
  return room !== undefined && room > MIN_SLICE_BYTES ? Math.min(room, MAX_SLICE_BYTES) : MIN_SLICE_BYTES;
}

export interface TunnelSocketInit {
  /** The node whose tunnel carries this stream. */
  node: string;
  /** Destination as dialled on the node's side. */
  remoteAddress: string;
  remotePort: number;
  /** Keep the writable side open after the peer ends (like net's allowHalfOpen). Default false. */
  allowHalfOpen?: boolean;
}

/**
 * One stream through a tunnel, shaped like a net.Socket so http.Agent, tls.connect({ socket }) and undici
 * take it. It wraps an ssh2 channel because the channel's own destroy() drops the error and never marks
 * it destroyed, and because writes must wait for the SSH connection's shared buffer (see whenWritable).
 */
export class TunnelSocket extends Duplex {
  readonly node: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The destination is an IP literal (IPv6 unbracketed) or a name, and only IPv6 has a colon: no pattern to run per stream. */
  get remoteFamily(): 'IPv4' | 'IPv6' {
    return this.remoteAddress.includes(':') ? 'IPv6' : 'IPv4';
  }

  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly connecting = false;
  readonly pending = false;
  bytesRead = 0;
  bytesWritten = 0;

  private readonly channel: Duplex;
  private readonly whenWritable: SshChannel['whenWritable'];
  private idleTimeoutMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private channelClosed = false;

  constructor(opened: SshChannel, init: TunnelSocketInit) {
    super({ allowHalfOpen: init.allowHalfOpen ?? false });
    const channel = opened.stream;
    this.channel = channel;
    this.whenWritable = opened.whenWritable;
    this.node = init.node;
    this.remoteAddress = init.remoteAddress;
    this.remotePort = init.remotePort;

    channel.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      this.touch();
      if (!this.push(chunk)) channel.pause();
    });
    channel.on('end', () => this.push(null));
    channel.on('close', () => {
      this.channelClosed = true;
      // The node closed the channel: nothing more will be read, and nothing written can arrive.
      this.push(null);
      if (!this.writableEnded) this.end();
    });
    channel.on('error', (err: Error) => this.destroy(err));
  }

  override _read(): void {
    this.channel.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeFrom(chunk, 0, callback);
  }

  /**
   * Writes `chunk` from `offset` in slices, each through the connection's gate, so that one large write
   * (a 100 MiB Buffer) cannot put more than a slice in flight past the pacing the gate does.
   */
  private writeFrom(chunk: Buffer, offset: number, callback: (error?: Error | null) => void): void {
    this.whenWritable((room) => {
      // The wait may end because the node closed the channel (its 'close' listeners run in turn): ssh2 has
      // ended the channel's writable side by then, and a write there would fail as "write after end".
      if (this.destroyed || this.channelClosed || !this.channel.writable) {
        callback(Object.assign(new Error('write after the channel closed'), { code: 'EPIPE' }));
        return;
      }
      const end = Math.min(chunk.length, offset + sliceBytes(room));
      const slice = offset === 0 && end === chunk.length ? chunk : chunk.subarray(offset, end);
      this.bytesWritten += slice.length;
      this.touch();
      // A microtask per slice keeps a huge write from growing the stack.
      const next = (): void => (end < chunk.length ? queueMicrotask(() => this.writeFrom(chunk, end, callback)) : callback());
      // The channel's own buffer follows the remote window; wait for it too.
      if (this.channel.write(slice)) next();
      else this.channel.once('drain', next);
    });
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.channelClosed) this.channel.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearIdleTimer();
    if (!this.channelClosed) {
      // An abort: CHANNEL_CLOSE alone, which RFC 4254 (5.3) allows without EOF. ssh2's destroy() would send
      // an EOF first, one more packet and socket write per stream; after close() its end() sends none.
      (this.channel as Duplex & { close?: () => void }).close?.();
      // Then ends and closes the stream itself; the close above already went out.
      this.channel.destroy();
    }
    callback(error);
  }

  // net.Socket compatibility. Nagle and TCP keepalive belong to the SSH connection, which sets them.
  setNoDelay(_noDelay?: boolean): this {
    return this;
  }

  setKeepAlive(_enable?: boolean, _initialDelay?: number): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  get readyState(): 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.destroyed) return 'closed';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    return this.writable ? 'writeOnly' : 'closed';
  }

  /** Emits 'timeout' after `ms` without traffic, like net.Socket; 0 turns it off. */
  setTimeout(ms: number, onTimeout?: () => void): this {
    this.idleTimeoutMs = ms;
    if (onTimeout) {
      if (ms === 0) this.removeListener('timeout', onTimeout);
      else this.once('timeout', onTimeout);
    }
    this.touch();
    return this;
  }

  private touch(): void {
    this.clearIdleTimer();
    if (this.idleTimeoutMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleTimeoutMs);
      this.idleTimer.unref();
    }
  }

  private clearIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }
}
