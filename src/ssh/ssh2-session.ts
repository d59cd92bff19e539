import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Client } from 'ssh2';
import { ChannelOpenError, TunnelClosedError } from '../errors.js';
import type { SshChannel, SshSession } from './ssh-session.js';
import { SendPacer, pacingFloor, type WindowedChannel } from './send-pacer.js';
import { SocketWriteGate } from './socket-write-gate.js';

/** What ssh2 says when the connection died with channel opens outstanding. */
const CONNECTION_GONE = 'No response from server';

/** Reads at least this large are bulk data; the kernel acknowledges those promptly by itself. */
const SMALL_READ_BYTES = 16 * 1024;

// The prompt acknowledgement below sends SSH_MSG_IGNORE, for which ssh2 (1.x) has no public call: it uses
// ssh2's internal packet writer and sendPacket helper, checks that they are there, and otherwise does
// nothing, so another ssh2 version can only lose the optimisation, never break a stream.

/** SSH_MSG_IGNORE (RFC 4253 section 11.2): every implementation must accept and drop it. */
const MSG_IGNORE = 2;

interface ProtocolInternals {
  _packetRW?: { write?: { allocStart: number; alloc(length: number): Buffer; finalize(packet: Buffer): Buffer } };
}

const sendPacket = ((): ((protocol: ProtocolInternals, packet: Buffer) => void) | undefined => {
  try {
    const utils = createRequire(import.meta.url)('ssh2/lib/protocol/utils.js') as { sendPacket?: unknown };
    return typeof utils.sendPacket === 'function' ? (utils.sendPacket as (p: ProtocolInternals, b: Buffer) => void) : undefined;
  } catch {
    return undefined;
  }
})();

function sendIgnore(client: Client): void {
  const protocol = (client as Client & { _protocol?: ProtocolInternals })._protocol;
  const writer = protocol?._packetRW?.write;
  if (!protocol || !writer || !sendPacket) return;
  const start = writer.allocStart;
  const packet = writer.alloc(1 + 4);
  packet[start] = MSG_IGNORE;
  packet.writeUInt32BE(0, start + 1); // empty data string
  sendPacket(protocol, writer.finalize(packet));
}

export interface Ssh2SessionLimits {
  /** Bytes the TCP socket may hold before streams wait (ssh2 itself never waits). */
  maxWriteBufferBytes: number;
  /** Bytes in flight to the node, summed over the channels, before streams wait (see SendPacer). */
  connectionWindowBytes: number;
}

/** An SshSession over a ready ssh2 Client and the TCP socket we gave it. */
export class Ssh2Session implements SshSession {
  private closeListener: ((error: Error | undefined) => void) | undefined;
  private closed = false;
  private closing = false;
  private lastError: Error | undefined;
  private readonly gate: SocketWriteGate;
  private ackScheduled = false;
  /** sock.bytesWritten when the last small read arrived: unchanged means nothing has carried its ACK yet. */
  private writtenAtLastRead = 0;
  private channels = 0;
  private readonly pacer: SendPacer;
  /** The node's SSH software as its banner gives it ("OpenSSH_9.2p1 ..."); ssh2 keeps it internally. */
  private readonly remoteSoftware: unknown;

  constructor(
    private readonly client: Client,
    private readonly sock: net.Socket,
    private readonly node: string,
    readonly hostKeyFingerprint: string,
    limits: Ssh2SessionLimits,
  ) {
    this.pacer = new SendPacer(limits.connectionWindowBytes);
    this.gate = new SocketWriteGate(sock, limits.maxWriteBufferBytes);
    this.remoteSoftware = (client as Client & { _remoteVer?: unknown })._remoteVer;
    client.on('error', (err: Error) => {
      this.lastError = err;
    });
    client.on('close', () => {
      this.closed = true;
      this.gate.releaseAll();
      this.pacer.releaseAll();
      const error = this.closing ? undefined : (this.lastError ?? new Error('connection closed by the node'));
      this.closeListener?.(error);
    });
    // ssh2 parsed the chunk in its own listener, registered before this one: window adjusts are counted.
    sock.on('data', (chunk: Buffer) => {
      if (chunk.length < SMALL_READ_BYTES) this.ackPromptly();
      this.pacer.refresh();
    });
    // The last message of authentication is still unacknowledged; sshd has more small ones to send.
    this.ackPromptly();
  }

  get queuedBytes(): number {
    return this.sock.writableLength;
  }

  get openChannels(): number {
    return this.channels;
  }

  readonly connections = 1;

  get inFlightBytes(): number {
    return this.pacer.inFlight;
  }

  openChannel(host: string, port: number): Promise<SshChannel> {
    const target = `${host}:${port}`;
    if (this.closed) return Promise.reject(new TunnelClosedError(this.node, 'connection closed', { target }));
    this.channels += 1;
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        if (!err) {
          const windowed = channel as unknown as WindowedChannel; // ssh2's types call `outgoing` unknown
          const credit = this.pacer.track(windowed, pacingFloor(this.remoteSoftware, windowed));
          channel.once('close', () => {
            this.channels -= 1;
            this.pacer.forget(credit);
          });
          resolve({
            stream: channel,
            whenWritable: (proceed) =>
              this.gate.whenRoom(() => this.pacer.whenAllowed(credit, () => proceed(Math.min(this.gate.room, this.pacer.room(credit))))),
          });
          return;
        }
        this.channels -= 1;
        if (err.message === CONNECTION_GONE || this.closed) {
          reject(new TunnelClosedError(this.node, 'connection lost while the channel was opening', { target, cause: err }));
          return;
        }
        const reason = (err as Error & { reason?: unknown }).reason;
        reject(new ChannelOpenError(this.node, target, typeof reason === 'number' ? reason : undefined, err.message, err));
      });
    });
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

  /**
   * sshd leaves Nagle on for forwarding-only connections, so when it has two small segments to send (a
   * channel-open confirmation and a server's first bytes; a reply and the data behind it) the second waits
   * for our ACK of the first, and our kernel delays that ACK ~40 ms unless we send something. So after a
   * small read, if neither ssh2 nor a stream has written anything by the next turn of the event loop (a
   * client that speaks first has), send an SSH_MSG_IGNORE: it carries the ACK at once and means nothing
   * else. (Node cannot set TCP_QUICKACK, which would do the same in the kernel.)
   */
  private ackPromptly(): void {
    this.writtenAtLastRead = this.sock.bytesWritten;
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    setImmediate(() => {
      this.ackScheduled = false;
      if (!this.closed && !this.closing && this.sock.bytesWritten === this.writtenAtLastRead) sendIgnore(this.client);
    });
  }
}
