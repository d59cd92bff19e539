import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { z } from 'zod';
import { plainConnectExposure } from './listener-exposure.js';
import { countRule, durationMsRule, objectRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import type { Dialer } from '../dialer/dialer.js';
import { ConfigError } from '../errors.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';
import type { Logger } from '../log.js';
import type { Frontend, FrontendSettings } from './frontend.js';
import { serveConnectClient, type ConnectRequestEvent, type ConnectSessionContext } from './http-connect-session.js';
import { mapDialFailure } from './failure-mapping.js';
import { sendRefusal } from './http-connect-refusal.js';
import { ConnectionLimiter, connectionLimitsShape, type ConnectionLimits } from './limits-connections.js';
import { listenUnixSocket, type UnixSocketListener } from './unix-socket-listener.js';

export type { ConnectRequestEvent } from './http-connect-session.js';

/**
 * Where the front end listens. Production uses `unix` (access by file mode) or `tls` (a client certificate
 * signed by `clientCA` is required). `tcp` is plain HTTP on loopback only, for local tools such as `curl -x`
 * and tests; a non-loopback host is refused, as it would hand the cluster to anyone who can reach the port.
 */
export type HttpConnectListen =
  | { kind: 'unix'; path: string; /** Default 0o600. */ mode?: number }
  | { kind: 'tls'; host: string; port: number; cert: Buffer | string; key: Buffer | string; clientCA: Buffer | string }
  | { kind: 'tcp'; host: string; port: number };

export interface HttpConnectOptions extends ConnectionLimits {
  logger: Logger;
  /** Time a client has to send a complete request head (and, for TLS, to finish the handshake). Default 10000. */
  headerTimeoutMs?: number;
  /** Largest request head accepted; larger ones get 431. Default 8192. */
  maxHeaderBytes?: number;
  /** Budget for each dial; default the dialer's own. */
  dialTimeoutMs?: number;
}

export const HTTP_CONNECT_DEFAULTS = { headerTimeoutMs: 10_000, maxHeaderBytes: 8192 } as const;

const httpConnectOptionsSchema = z.strictObject({
  logger: objectRule<Logger>('a logger'),
  headerTimeoutMs: durationMsRule.optional(),
  maxHeaderBytes: countRule.optional(),
  dialTimeoutMs: durationMsRule.optional(),
  ...connectionLimitsShape,
} satisfies ShapeOf<HttpConnectOptions>);

/**
 * HTTP CONNECT proxy in front of the dialer, as kube-apiserver's EgressSelectorConfiguration (HTTPConnect)
 * and curl -x use it. Emits `request` once per client with the outcome.
 */
export class HttpConnectFrontend extends EventEmitter<{ request: [ConnectRequestEvent] }> implements Frontend {
  private readonly server: net.Server;
  private readonly log: Logger;
  private readonly sockets = new Set<Duplex>();
  private readonly limiter: ConnectionLimiter;
  /** Shared by every client's session; reconfigure() changes its dial budget for the ones to come. */
  private readonly context: ConnectSessionContext;
  private unixListener: UnixSocketListener | undefined;

  constructor(
    dialer: Pick<Dialer, 'dial'>,
    private readonly listenOn: HttpConnectListen,
    options: HttpConnectOptions,
  ) {
    super();
    const { headerTimeoutMs, maxHeaderBytes, dialTimeoutMs } = { ...HTTP_CONNECT_DEFAULTS, ...defined(parseOptions(httpConnectOptionsSchema, options)) };
    this.log = options.logger.child({ component: 'http-connect', listener: describe(listenOn) });
    this.limiter = new ConnectionLimiter(() => this.name, options);
    const context: ConnectSessionContext = (this.context = {
      dialer,
      log: this.log,
      headerTimeoutMs,
      maxHeaderBytes,
      dialTimeoutMs,
      report: (event: ConnectRequestEvent) => this.emit('request', event),
    });
    // allowHalfOpen: a client that finished sending still gets the rest of the tunnel's answer.
    if (listenOn.kind === 'tls') {
      this.server = tls.createServer({
        cert: listenOn.cert,
        key: listenOn.key,
        ca: listenOn.clientCA,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: headerTimeoutMs,
        allowHalfOpen: true,
      });
      this.server.on('secureConnection', (socket: tls.TLSSocket) => this.accept(socket, context));
      this.server.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
        this.log.info('TLS client refused', { remote: socket.remoteAddress, error: err.message });
        this.emit('request', { outcome: 'rejected', status: undefined, reason: 'tls-handshake', durationMs: 0 });
      });
    } else {
      const exposure = listenOn.kind === 'tcp' ? plainConnectExposure(listenOn) : undefined;
      if (exposure) throw new ConfigError('listeners.connect.tcp.host', exposure);
      this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket, context));
    }
    // Count clients from the TCP accept on, so TLS handshakes in progress count (and are destroyed) too.
    this.server.on('connection', (socket: net.Socket) => this.track(socket));
    // The hard ceiling: past it Node closes new sockets at accept, so even refusals cannot pile up.
    this.server.maxConnections = this.limiter.socketCeiling;
    this.server.on('error', (err) => this.log.warn('listener error', { error: err.message }));
  }

  /** "connect-uds PATH", "connect-tls HOST:PORT" or "connect-tcp HOST:PORT" (the bound port once listening). */
  get name(): string {
    const bound = this.address();
    return describe(bound && 'port' in bound && this.listenOn.kind !== 'unix' ? { ...this.listenOn, port: bound.port } : this.listenOn);
  }

  get openConnections(): number {
    let count = 0;
    for (const socket of this.sockets) if (!(socket instanceof tls.TLSSocket)) count++;
    return count;
  }

  /** The bound address (a TCP port chosen by the system when 0 was asked for), once listening. */
  address(): { path: string } | { host: string; port: number } | undefined {
    if (this.unixListener) return { path: this.unixListener.path };
    const addr = this.server.address();
    return addr && typeof addr === 'object' ? { host: addr.address, port: addr.port } : undefined;
  }

  async listen(): Promise<void> {
    const on = this.listenOn;
    if (on.kind === 'unix') {
      this.unixListener = await listenUnixSocket(this.server, { path: on.path, mode: on.mode ?? 0o600, field: 'listeners.connect.socket.path' });
    } else {
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void =>
          reject(new ConfigError(`listeners.connect.${on.kind}`, `cannot listen on ${on.host}:${on.port}: ${err.code ?? err.message}`, { cause: err }));
        this.server.once('error', onError);
        this.server.listen({ host: on.host, port: on.port }, () => {
          this.server.off('error', onError);
          resolve();
        });
      });
    }
    this.log.info('listening', { address: this.address() });
  }

  async stopAccepting(): Promise<void> {
    if (this.unixListener) {
      await this.unixListener.close();
      return;
    }
    if (!this.server.listening) return;
    // close()'s callback waits for every client; the listener itself is gone at once.
    this.server.close();
    await new Promise((resolve) => setImmediate(resolve));
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  reconfigure(settings: FrontendSettings): void {
    this.limiter.setLimits(settings);
    this.server.maxConnections = this.limiter.socketCeiling;
    this.context.dialTimeoutMs = settings.dialTimeoutMs;
  }

  /**
   * New certificate, key and client CA for a TLS listener (rotation on reload): handshakes from now on use
   * them; connections already up keep the ones they were made with.
   */
  setTlsCredentials(files: { cert: Buffer | string; key: Buffer | string; clientCA: Buffer | string }): void {
    if (!(this.server instanceof tls.Server)) throw new ConfigError('listeners.connect', `${this.name} is not a TLS listener`);
    this.server.setSecureContext({ cert: files.cert, key: files.key, ca: files.clientCA, minVersion: 'TLSv1.2' });
  }

  /** Stops accepting and destroys every client: for tests and abrupt shutdown. */
  async close(): Promise<void> {
    await this.stopAccepting();
    this.destroyAll();
  }

  private accept(socket: net.Socket, context: Parameters<typeof serveConnectClient>[1]): void {
    if (socket instanceof tls.TLSSocket) this.track(socket);
    socket.setNoDelay(true);
    // Admitted after the TLS handshake, so a refusal can still be an HTTP answer.
    const admission = this.limiter.admitSocket(socket);
    if (!admission.ok) {
      const { httpStatus, reason } = mapDialFailure(admission.error);
      const refused = this.limiter.refusalToReport();
      if (refused !== undefined) this.log.warn('clients refused: connection limit', { refused, remote: socket.remoteAddress, error: admission.error.message });
      this.emit('request', { outcome: 'rejected', status: httpStatus, reason, durationMs: 0 });
      socket.on('error', () => undefined);
      sendRefusal(socket, httpStatus, `${reason}: ${admission.error.message}`);
      return;
    }
    serveConnectClient(socket, context);
  }

  private track(socket: Duplex): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }
}

function describe(on: HttpConnectListen): string {
  return on.kind === 'unix' ? `connect-uds ${on.path}` : `connect-${on.kind} ${on.host.includes(':') ? `[${on.host}]` : on.host}:${on.port}`;
}
