import net from 'node:net';

/** What a forwarded stream asked for, as the fake node that served it saw it. */
export interface StreamIdentity {
  /** The node that served the stream. */
  node: string;
  /** The destination host the SSH client asked for (IP or name). */
  addr: string;
  /** The destination port the SSH client asked for. */
  port: number;
}

/**
 * One real server on 127.0.0.1 (ephemeral port) standing in for many simulated addresses.
 * Every connection a fake node makes to it is registered under its source port before any byte is
 * written, so a handler can tell which node and which simulated destination it is answering for
 * (`identityOf`) and `whoami` stays truthful without a wire header.
 */
export class LoopbackService {
  private readonly identities = new Map<number, StreamIdentity>();
  private readonly sockets = new Set<net.Socket>();
  private port = 0;

  /** `server` is any net.Server (plain, http, https); it is not listening yet. */
  constructor(private readonly server: net.Server) {
    // 'connection' carries the raw TCP socket even for TLS servers, so close() can destroy it.
    server.on('connection', (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('loopback service has no TCP address');
    this.port = address.port;
  }

  /** The identity of a connection accepted by this service (from its peer's source port). */
  identityOf(socket: { remotePort?: number | undefined }): StreamIdentity | undefined {
    return socket.remotePort === undefined ? undefined : this.identities.get(socket.remotePort);
  }

  /** Opens a loopback connection to this service on behalf of `identity`. */
  connect(identity: StreamIdentity): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      // allowHalfOpen: a client's EOF must reach the service without closing the reply direction.
      const socket = net.connect({ host: '127.0.0.1', port: this.port, allowHalfOpen: true });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        const sourcePort = socket.localPort;
        if (sourcePort !== undefined) {
          this.identities.set(sourcePort, identity);
          socket.once('close', () => {
            if (this.identities.get(sourcePort) === identity) this.identities.delete(sourcePort);
          });
        }
        resolve(socket);
      });
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
