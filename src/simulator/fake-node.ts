import net from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, ParsedKey, ServerChannel, TcpipRequestInfo } from 'ssh2';

const { Server, utils } = ssh2;

/** Fault-injection handle for one fake node. */
export interface FakeNode {
  name: string;
  /** Destroys every client TCP connection abruptly (RST), like a crashed sshd. */
  dropConnections(): void;
  /** Stops listening and drops every connection. */
  stop(): Promise<void>;
  /** Listens again on the same address and port, with the same host key. */
  start(): Promise<void>;
  /** The OpenSSH public key line accepted from now on; null refuses every key. */
  setAuthorizedKey(pubKey: string | null): void;
  /** While on, new TCP connections are accepted and then never answered (a black hole). */
  setHangHandshake(on: boolean): void;
  /** Closes the next `count` connections before the SSH banner, as sshd's MaxStartups does under load. */
  dropHandshakes(count: number): void;
  /** While false, the node's kubelet answers /healthz with 500. */
  setKubeletHealthy(healthy: boolean): void;
  /** While on, channel opens on existing connections are never answered (a wedged sshd; keepalives still are). */
  setHangChannels(on: boolean): void;
  /**
   * Waits this long before answering each new connection, as a real sshd does while it forks and re-executes
   * itself (tens of ms): a latency the client's concurrent handshakes can overlap, costing no CPU here. 0 is off.
   */
  setHandshakeDelay(ms: number): void;
  /** SSH connections currently open and authenticated. */
  readonly connections: number;
}

export interface FakeNodeOptions {
  name: string;
  /** Loopback address to listen on. */
  address: string;
  /** 0 picks an ephemeral port once; restarts reuse whatever was picked. */
  port: number;
  /** Host private key (OpenSSH format). */
  hostKey: string;
  /** The only user name accepted, as sshd only knows its own accounts. */
  user: string;
  authorizedKey: string | null;
  /**
   * Opens the stream that serves a forwarding request, or resolves undefined when nothing answers
   * there (the channel is then refused with reason 2, connect failed).
   */
  openStream(destHost: string, destPort: number): Promise<Duplex | undefined>;
  /** Called once per stream actually served (after the channel was confirmed). */
  onServed(destHost: string, destPort: number): void;
  setKubeletHealthy(healthy: boolean): void;
}

function parsePublicKey(text: string): ParsedKey {
  const parsed = utils.parseKey(text);
  const key = Array.isArray(parsed) ? (parsed[0] as ParsedKey | Error | undefined) : parsed;
  if (key === undefined || key instanceof Error) {
    throw new Error(`invalid authorized key: ${key instanceof Error ? key.message : 'empty'}`);
  }
  return key;
}

/** Joins a confirmed channel to the serving stream in both directions, half-close included. */
function splice(channel: ServerChannel, stream: Duplex): void {
  channel.on('error', () => stream.destroy());
  stream.on('error', () => channel.close());
  channel.pipe(stream);
  stream.pipe(channel);
  // The client closed the channel (or the connection died): nothing more can flow either way.
  channel.once('close', () => stream.destroy());
  // A clean end already reached the channel through pipe(), whose finish sends EOF+CLOSE after the
  // queued data; closing here would cut that data short. Only an abrupt end closes at once.
  stream.once('close', () => {
    if (!stream.readableEnded) channel.close();
  });
}

/** One in-process sshd stand-in: an ssh2 Server fed by our own net.Server, so we can black-hole or drop sockets. */
export class FakeSshNode implements FakeNode {
  readonly name: string;
  private readonly ssh: InstanceType<typeof Server>;
  private readonly sockets = new Set<net.Socket>();
  private listener: net.Server | undefined;
  private port: number;
  private authorized: ParsedKey | null;
  private hang = false;
  private hangChannels = false;
  private handshakesToDrop = 0;
  private handshakeDelayMs = 0;
  private ready = 0;

  constructor(private readonly options: FakeNodeOptions) {
    this.name = options.name;
    this.port = options.port;
    this.authorized = options.authorizedKey === null ? null : parsePublicKey(options.authorizedKey);
    // The ssh2 Server never listens itself: sockets reach it through injectSocket().
    this.ssh = new Server({ hostKeys: [options.hostKey] }, (conn) => this.onConnection(conn));
  }

  get connections(): number {
    return this.ready;
  }

  get listenPort(): number {
    return this.port;
  }

  async start(): Promise<void> {
    if (this.listener !== undefined) return;
    const listener = net.createServer((socket) => this.onSocket(socket));
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(this.port, this.options.address, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address !== null && typeof address !== 'string') this.port = address.port;
    this.listener = listener;
  }

  async stop(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    this.dropConnections();
    if (listener !== undefined) await new Promise<void>((resolve) => listener.close(() => resolve()));
  }

  dropConnections(): void {
    for (const socket of this.sockets) socket.resetAndDestroy();
    this.sockets.clear();
  }

  setAuthorizedKey(pubKey: string | null): void {
    this.authorized = pubKey === null ? null : parsePublicKey(pubKey);
  }

  setHangHandshake(on: boolean): void {
    this.hang = on;
  }

  dropHandshakes(count: number): void {
    this.handshakesToDrop = count;
  }

  setKubeletHealthy(healthy: boolean): void {
    this.options.setKubeletHealthy(healthy);
  }

  setHangChannels(on: boolean): void {
    this.hangChannels = on;
  }

  setHandshakeDelay(ms: number): void {
    this.handshakeDelayMs = ms;
  }

  private onSocket(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => this.sockets.delete(socket));
    if (this.hang) return; // accepted by the kernel, never answered: not even the SSH banner
    if (this.handshakesToDrop > 0) {
      this.handshakesToDrop -= 1;
      socket.destroy();
      return;
    }
    // Without this every reply waits on Nagle + delayed ACK (~40 ms a channel open).
    socket.setNoDelay(true);
    if (this.handshakeDelayMs === 0) this.ssh.injectSocket(socket);
    else
      setTimeout(() => {
        if (!socket.destroyed) this.ssh.injectSocket(socket);
      }, this.handshakeDelayMs);
  }

  private onConnection(conn: Connection): void {
    let authenticated = false;
    let closed = false;
    // A peer reset (ECONNRESET) or protocol error must not crash the process.
    conn.on('error', () => {});
    conn.on('authentication', (ctx) => this.authenticate(ctx));
    conn.on('ready', () => {
      authenticated = true;
      this.ready += 1;
    });
    conn.on('close', () => {
      closed = true;
      if (authenticated) this.ready -= 1;
    });
    conn.on('tcpip', (accept, reject, info) => {
      if (this.hangChannels) return;
      void this.forward(accept, reject, info, () => closed);
    });
  }

  private authenticate(ctx: AuthContext): void {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const allowed = this.authorized;
    if (allowed === null || ctx.username !== this.options.user || !ctx.key.data.equals(allowed.getPublicSSH())) {
      return ctx.reject(['publickey']);
    }
    // Without a signature the client only asks whether the key would do; with one, it must prove possession.
    if (ctx.signature === undefined) return ctx.accept();
    if (ctx.blob === undefined || !allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
      return ctx.reject(['publickey']);
    }
    ctx.accept();
  }

  /** Like sshd: connect to the destination first, confirm the channel only once that worked. */
  private async forward(
    accept: () => ServerChannel,
    reject: () => void,
    info: TcpipRequestInfo,
    isClosed: () => boolean,
  ): Promise<void> {
    let stream: Duplex | undefined;
    try {
      stream = await this.options.openStream(info.destIP, info.destPort);
    } catch {
      stream = undefined;
    }
    if (isClosed()) {
      stream?.destroy();
      return;
    }
    // ssh2's reject() sends reason 2 (connect failed) once a channel id was reserved, which it always is here.
    if (stream === undefined) return reject();
    splice(accept(), stream);
    this.options.onServed(info.destIP, info.destPort);
  }
}
