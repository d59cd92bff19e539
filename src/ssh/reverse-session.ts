import type net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Connection, ServerChannel } from 'ssh2';
import { ChannelOpenError, InvalidTargetError, TunnelClosedError } from '../errors.js';
import { AgentMisconfiguredError } from './agent-errors.js';
import { SendPacer, pacingFloor, type WindowedChannel } from './send-pacer.js';
import type { SshChannel, SshSession } from './ssh-session.js';
import { SocketWriteGate } from './socket-write-gate.js';
import { encodeConnectRequest } from './socks5-client.js';
import { socks5Exchange, type SocksExchangeOutcome } from './socks5-exchange.js';
import { describeFailedProbe, socksFailureError } from './socks5-failures.js';

/** What ssh2 says when the connection died with channel opens outstanding. */
const CONNECTION_GONE = 'No response from server';

export interface ReverseSessionOptions {
  node: string;
  /** The agent's authenticated key (or certified key) fingerprint: what this session is trusted by. */
  agentKeyFingerprint: string;
  /** The registration: the forward the agent asked for and the port we answered with. */
  bindAddress: string;
  bindPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The agent's software as its banner gives it ("OpenSSH_9.2p1"), for pacing. */
  remoteSoftware: string | undefined;
  maxWriteBufferBytes: number;
  connectionWindowBytes: number;
  /** How long the agent may take to answer SOCKS5 inside a channel. */
  socksTimeoutMs: number;
}

/**
 * An SshSession over a node agent's connection to us (a reverse tunnel): each stream is a forwarded-tcpip
 * channel to the agent's remote dynamic forward, with a SOCKS5 CONNECT inside it, so the agent connects to
 * the destination from the node. Everything above (Tunnel, dialer, TunnelSocket) is the same as forward.
 */
export class ReverseSession implements SshSession {
  readonly node: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly connections = 1;
  private closeListener: ((error: Error | undefined) => void) | undefined;
  private closed = false;
  private closing = false;
  private lastError: Error | undefined;
  private channels = 0;
  /** Opens still in their SOCKS5 exchange: failed at once when the agent goes away. */
  private readonly pending = new Set<(error: Error) => void>();
  private readonly pacer: SendPacer;
  private readonly gate: SocketWriteGate;

  constructor(
    private readonly client: Connection,
    private readonly sock: net.Socket,
    private readonly options: ReverseSessionOptions,
  ) {
    this.node = options.node;
    this.remoteAddress = options.remoteAddress;
    this.remotePort = options.remotePort;
    this.pacer = new SendPacer(options.connectionWindowBytes);
    this.gate = new SocketWriteGate(sock, options.maxWriteBufferBytes);
    client.on('error', (err: Error & { level?: string }) => {
      this.lastError = err;
      // ssh2's keepalive gives up with end(), which waits for a FIN a dead agent never sends: cut it off now,
      // so its streams fail within the keepalive bound and not at TCP's retransmission timeout.
      if (err.level === 'client-timeout') sock.destroy();
    });
    client.on('close', () => this.onConnectionClosed());
    // Window adjusts arrive in the agent's reads; ssh2's own listener has counted them by now.
    sock.on('data', () => this.pacer.refresh());
  }

  get hostKeyFingerprint(): string {
    return this.options.agentKeyFingerprint;
  }

  get queuedBytes(): number {
    return this.sock.writableLength;
  }

  get openChannels(): number {
    return this.channels;
  }

  get inFlightBytes(): number {
    return this.pacer.inFlight;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Neither closed nor asked to close: a session worth handing to a tunnel. */
  get isOpen(): boolean {
    return !this.closed && !this.closing;
  }

  get agent(): { remoteAddress: string; remotePort: number } {
    return { remoteAddress: this.remoteAddress, remotePort: this.remotePort };
  }

  /**
   * Checks that the registration answers SOCKS5 (a greeting exchange in a channel of its own) before it is
   * used. A static `-R port:host:port` forward pipes the greeting to its fixed destination and fails here.
   */
  async probe(): Promise<void> {
    const channel = await this.forwardedChannel('SOCKS5 probe').catch((err: unknown) => {
      throw err instanceof ChannelOpenError ? new AgentMisconfiguredError(this.node, 'its forward refused a channel', err) : err;
    });
    try {
      const outcome = await this.exchange(channel, undefined);
      if (outcome.kind === 'ok') return;
      if (this.closed) throw this.closedError('SOCKS5 probe');
      throw new AgentMisconfiguredError(this.node, describeFailedProbe(outcome, this.options.socksTimeoutMs));
    } finally {
      discard(channel);
    }
  }

  async openChannel(host: string, port: number): Promise<SshChannel> {
    const target = `${host}:${port}`;
    let request: Buffer;
    try {
      request = encodeConnectRequest(host, port);
    } catch (err) {
      throw new InvalidTargetError(target, (err as Error).message);
    }
    const channel = await this.forwardedChannel(target);
    const outcome = await this.exchange(channel, request);
    if (outcome.kind !== 'ok') {
      discard(channel);
      throw this.closed ? this.closedError(target) : socksFailureError(this.node, target, outcome, this.options.socksTimeoutMs);
    }
    const windowed = channel as unknown as WindowedChannel; // ssh2's types call `outgoing` unknown
    const credit = this.pacer.track(windowed, pacingFloor(this.options.remoteSoftware, windowed));
    channel.once('close', () => this.pacer.forget(credit));
    return {
      stream: channel,
      whenWritable: (proceed) => this.gate.whenRoom(() => this.pacer.whenAllowed(credit, () => proceed(Math.min(this.gate.room, this.pacer.room(credit))))),
    };
  }

  close(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.client.end();
    // end() waits politely for the agent; a dead one would never answer, so bound it.
    setTimeout(() => this.sock.destroy(), 2_000).unref();
  }

  onClose(listener: (error: Error | undefined) => void): void {
    this.closeListener = listener;
  }

  /** A forwarded-tcpip channel to the registration, counted while open, made to half-close like a client channel. */
  private forwardedChannel(target: string): Promise<ServerChannel> {
    if (this.closed) return Promise.reject(this.closedError(target));
    this.channels += 1;
    return new Promise((resolve, reject) => {
      this.client.forwardOut(this.options.bindAddress, this.options.bindPort, '127.0.0.1', 0, (err, channel) => {
        if (err) {
          this.channels -= 1;
          if (err.message === CONNECTION_GONE || this.closed) reject(this.closedError(target, err));
          else {
            const reason = (err as Error & { reason?: unknown }).reason;
            reject(new ChannelOpenError(this.node, target, typeof reason === 'number' ? reason : undefined, err.message, err));
          }
          return;
        }
        channel.once('close', () => {
          this.channels -= 1;
        });
        allowHalfClose(channel);
        resolve(channel);
      });
    });
  }

  /** The SOCKS5 exchange, failed at once (as TunnelClosedError) when the agent's connection goes first. */
  private exchange(channel: Duplex, request: Buffer | undefined): Promise<SocksExchangeOutcome> {
    return new Promise((resolve, reject) => {
      const abort = (error: Error): void => {
        this.pending.delete(abort);
        reject(error);
      };
      this.pending.add(abort);
      void socks5Exchange(channel, request, this.options.socksTimeoutMs).then((outcome) => {
        if (!this.pending.delete(abort)) return;
        resolve(outcome);
      });
    });
  }

  private closedError(target: string, cause?: unknown): TunnelClosedError {
    return new TunnelClosedError(this.node, 'the agent disconnected while the channel was opening', { target, cause });
  }

  private onConnectionClosed(): void {
    this.closed = true;
    const error = this.closing ? undefined : (this.lastError ?? new Error('the agent disconnected'));
    for (const abort of [...this.pending]) abort(this.closedError('a pending channel', error));
    this.gate.releaseAll();
    this.pacer.releaseAll();
    this.closeListener?.(error);
  }
}

/** Closes a channel nobody will read: ssh2 emits its 'close' only once its readable side has ended. */
function discard(channel: ServerChannel): void {
  channel.destroy();
  channel.resume();
}

/**
 * ssh2 (1.x) ends a server-side channel's writable side with EOF and CLOSE together, so the reply to a
 * half-closed request would be lost. The channels we open to an agent carry streams just like the ones a
 * client opens with forwardOut, so they get the client's rule: end() sends EOF only, and the channel closes
 * when the agent closes it. The flag only decides that and which end-of-channel events ssh2 emits.
 */
function allowHalfClose(channel: ServerChannel): void {
  const flags = channel as unknown as { server?: boolean; allowHalfOpen?: boolean };
  if (flags.server === true && flags.allowHalfOpen === true) flags.server = false;
}
