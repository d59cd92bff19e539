import net from 'node:net';
import { z } from 'zod';
import { socksExposure } from './listener-exposure.js';
import { durationMsRule, objectRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import type { Dialer } from '../dialer/dialer.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';
import { rule } from '../util/zod-rule.js';
import { mapDialFailure, SOCKS_REPLY } from './failure-mapping.js';
import type { Frontend, FrontendSettings } from './frontend.js';
import { splice } from './splice.js';
import { Socks5Credentials } from './socks5-auth.js';
import { Socks5Negotiation } from './socks5-negotiation.js';
import { encodeReply, type ConnectRequest } from './socks5-protocol.js';
import { listenUnixSocket, type UnixSocketListener } from './unix-socket-listener.js';
import { ConnectionLimiter, connectionLimitsShape, type ConnectionLimits } from './limits-connections.js';
import type { ConnectionLimitError } from '../errors.js';

export type Socks5Listen = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string; mode: number };

export interface Socks5FrontendOptions extends ConnectionLimits {
  logger?: Logger;
  /** Username -> password (RFC 1929). When set, every client must authenticate; required off loopback. */
  users?: ReadonlyMap<string, string>;
  /** From accept to a complete CONNECT request; a client that is slower is dropped. Default 10000. */
  handshakeTimeoutMs?: number;
  /** Budget for each dial; the dialer's default when omitted. */
  dialTimeoutMs?: number;
}

export const SOCKS5_DEFAULTS = { handshakeTimeoutMs: 10_000 } as const;

const socks5OptionsSchema = z.strictObject({
  logger: objectRule<Logger>('a logger').optional(),
  users: rule<ReadonlyMap<string, string>>((v) => v instanceof Map, 'a Map of user names to passwords').optional(),
  handshakeTimeoutMs: durationMsRule.optional(),
  dialTimeoutMs: durationMsRule.optional(),
  ...connectionLimitsShape,
} satisfies ShapeOf<Socks5FrontendOptions>);

/** After a refusal, how long the client gets to read it before the connection is cut. */
const LINGER_MS = 2_000;

/**
 * SOCKS5 (RFC 1928) CONNECT front end: each client names a destination (IPv4, IPv6, or a name that
 * resolves only to a node, never through DNS), the dialer opens a tunnel stream to it, and the two are
 * spliced. Success is replied only once the SSH channel is open; failures get the mapped reply code.
 */
export class Socks5Frontend implements Frontend {
  private readonly log: Logger;
  private credentials: Socks5Credentials | undefined;
  private dialTimeoutMs: number | undefined;
  private readonly handshakeTimeoutMs: number;
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private readonly limiter: ConnectionLimiter;
  private unixListener: UnixSocketListener | undefined;

  constructor(
    private readonly dialer: Dialer,
    private readonly listenOn: Socks5Listen,
    options: Socks5FrontendOptions = {},
  ) {
    const { users, handshakeTimeoutMs } = { ...SOCKS5_DEFAULTS, ...defined(parseOptions(socks5OptionsSchema, options)) };
    this.credentials = users && users.size > 0 ? new Socks5Credentials(users) : undefined;
    const exposure = listenOn.kind === 'tcp' ? socksExposure(listenOn, users?.size ?? 0) : undefined;
    if (exposure) throw new ConfigError('listeners.socks.tcp.host', exposure);
    this.handshakeTimeoutMs = handshakeTimeoutMs;
    this.dialTimeoutMs = options.dialTimeoutMs;
    // Half-open on: a client that shuts its sending side still gets the destination's answer.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.accept(socket));
    this.limiter = new ConnectionLimiter(() => this.name, options);
    // The hard ceiling: past it Node closes new sockets at accept, so even refusals cannot pile up.
    this.server.maxConnections = this.limiter.socketCeiling;
    this.log = (options.logger ?? silentLogger()).child({ component: 'socks5', listener: this.name });
    this.server.on('error', (err) => this.log.error('listener error', { error: err.message }));
  }

  /** "socks5-tcp 127.0.0.1:1080" (the bound port once listening) or "socks5-uds /run/ssh-egress/socks.sock". */
  get name(): string {
    if (this.listenOn.kind === 'unix') return `socks5-uds ${this.listenOn.path}`;
    return `socks5-tcp ${hostPort(this.listenOn.host, this.port ?? this.listenOn.port)}`;
  }

  get openConnections(): number {
    return this.clients.size;
  }

  /** The bound TCP port (useful with port 0); undefined for a Unix socket or before listen(). */
  get port(): number | undefined {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address.port : undefined;
  }

  async listen(): Promise<void> {
    if (this.listenOn.kind === 'unix') {
      this.unixListener = await listenUnixSocket(this.server, { ...this.listenOn, field: 'listeners.socks.socket.path' });
    } else {
      const { host, port } = this.listenOn;
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void =>
          reject(new ConfigError('listeners.socks.tcp', `cannot listen on ${hostPort(host, port)}: ${err.code ?? err.message}`, { cause: err }));
        this.server.once('error', onError);
        this.server.listen(port, host, () => {
          this.server.off('error', onError);
          resolve();
        });
      });
    }
    this.log.info('listening', { address: this.name, auth: this.credentials ? 'username/password' : 'none' });
  }

  async stopAccepting(): Promise<void> {
    if (this.unixListener) return this.unixListener.close();
    if (!this.server.listening) return;
    // close()'s callback waits for every client; the listening socket itself is closed at once.
    this.server.close();
  }

  destroyAll(): void {
    for (const socket of this.clients) socket.destroy();
  }

  reconfigure(settings: FrontendSettings): void {
    this.limiter.setLimits(settings);
    this.server.maxConnections = this.limiter.socketCeiling;
    this.dialTimeoutMs = settings.dialTimeoutMs;
  }

  /**
   * New usernames and passwords (a reload, a rotated password file): clients that authenticate from now on
   * are checked against them. Refused (ConfigError) when it would leave a non-loopback listener open to all.
   */
  setUsers(users: ReadonlyMap<string, string>): void {
    const exposure = this.listenOn.kind === 'tcp' ? socksExposure(this.listenOn, users.size) : undefined;
    if (exposure) throw new ConfigError('listeners.socks.tcp.host', exposure);
    this.credentials = users.size > 0 ? new Socks5Credentials(users) : undefined;
  }

  private accept(socket: net.Socket): void {
    this.clients.add(socket);
    socket.once('close', () => this.clients.delete(socket));
    socket.on('error', (err) => this.log.debug('client connection error', { error: err.message }));
    // Over the limit, the client still negotiates (SOCKS has no way to refuse before its request) and is then
    // answered "general failure" instead of a dial; the handshake timeout bounds how long that takes.
    const admission = this.limiter.admitSocket(socket);
    const overLimit = admission.ok ? undefined : admission.error;
    const credentials = this.credentials;
    const negotiation = new Socks5Negotiation(
      credentials ? { authenticate: (user, password) => credentials.verify(user, password) } : {},
    );
    const timer = setTimeout(() => {
      this.log.info('SOCKS5 handshake timed out', { timeoutMs: this.handshakeTimeoutMs, client: describe(socket) });
      socket.destroy();
    }, this.handshakeTimeoutMs);
    const stop = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
    };
    const onEnd = (): void => {
      stop();
      socket.destroy();
    };
    const onData = (chunk: Buffer): void => {
      const { output, outcome } = negotiation.feed(chunk);
      // A request that came with this chunk (a client that does not wait for the method selection) holds the
      // replies due so far: they go out with the request's own reply, in one write and one wakeup of the client.
      if (outcome.state !== 'connect' && output.length > 0) socket.write(joined(output));
      if (outcome.state === 'pending') return;
      stop();
      if (outcome.state === 'failed') {
        this.log.info('SOCKS5 client refused', { reason: outcome.reason, username: outcome.username, client: describe(socket) });
        closeAfterReply(socket);
        return;
      }
      if (overLimit) {
        this.refuseOverLimit(socket, overLimit, output);
        return;
      }
      void this.connect(socket, outcome.request, outcome.rest, outcome.username, output);
    };
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', onData);
    socket.on('end', onEnd);
  }

  private refuseOverLimit(socket: net.Socket, error: ConnectionLimitError, held: Buffer[]): void {
    const refused = this.limiter.refusalToReport();
    if (refused !== undefined) this.log.warn('clients refused: connection limit', { refused, client: describe(socket), error: error.message });
    socket.write(joined([...held, encodeReply(mapDialFailure(error).socksReply)]));
    closeAfterReply(socket);
  }

  /** `held`: replies not yet written (see accept), to go out before the request's own. */
  private async connect(socket: net.Socket, request: ConnectRequest, rest: Buffer, username: string | undefined, held: Buffer[]): Promise<void> {
    const abort = new AbortController();
    const onClose = (): void => abort.abort();
    socket.once('close', onClose);
    let tunnel;
    try {
      // An object target, so a name is matched to nodes and an IPv6 literal needs no brackets.
      tunnel = await this.dialer.dial(
        { kind: 'address', host: request.host, port: request.port },
        { signal: abort.signal, timeoutMs: this.dialTimeoutMs, allowHalfOpen: true },
      );
    } catch (err) {
      if (socket.destroyed) return;
      const failure = mapDialFailure(err);
      this.log.info('SOCKS5 connect failed', { target: hostPort(request.host, request.port), username, reason: failure.reason, error: (err as Error).message });
      socket.write(joined([...held, encodeReply(failure.socksReply)]));
      closeAfterReply(socket);
      return;
    } finally {
      socket.off('close', onClose);
    }
    if (socket.destroyed) {
      tunnel.destroy();
      return;
    }
    socket.write(joined([...held, encodeReply(SOCKS_REPLY.SUCCEEDED)]));
    // Bytes the client sent right behind its request belong to the destination.
    if (rest.length > 0) socket.unshift(rest);
    // winston formats a message before its level filter drops it: skip that per dial.
    if (this.log.isDebugEnabled()) this.log.debug('SOCKS5 stream open', { target: hostPort(request.host, request.port), node: tunnel.node, username });
    await splice(socket, tunnel);
  }
}

/** Ends our side after a refusal, still reading (and dropping) what the client sends: closing with unread
 *  bytes would send a reset that can overtake the reply. The client gets LINGER_MS to hang up. */
function closeAfterReply(socket: net.Socket): void {
  socket.end();
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Replies due at once, as one buffer for one write. */
function joined(replies: Buffer[]): Buffer {
  return replies.length === 1 ? replies[0]! : Buffer.concat(replies);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function describe(socket: net.Socket): string {
  return socket.remoteAddress ? hostPort(socket.remoteAddress, socket.remotePort ?? 0) : 'unix socket';
}
