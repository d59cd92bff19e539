import { EventEmitter } from 'node:events';
import net from 'node:net';
import ssh2, { type ClientInfo, type Connection } from 'ssh2';
import { silentLogger, type Logger } from '../log.js';
import { PreAuthAdmission } from './agent-admission.js';
import { AgentAuthenticator } from './agent-auth.js';
import { superviseAgentConnection, type AgentIdentity, type AgentRegistrationRequest } from './agent-connection.js';
import { emptyAgentServerStats, type AgentServerStats } from './agent-server-stats.js';
import { resolveAgentServerOptions, type AgentServerOptions, type ResolvedAgentServerOptions } from './agent-server-options.js';
import { ReverseSession } from './reverse-session.js';
import type { TrustedUserCA } from './agent-user-ca.js';

export type { AgentServerOptions } from './agent-server-options.js';

/** A node's agent, ready to carry streams: its SOCKS5 probe succeeded. */
export interface AgentRegistration extends AgentIdentity {
  session: ReverseSession;
  remoteAddress: string;
  remotePort: number;
}

export interface AgentServerEvents {
  /** A node registered (or re-registered: the earlier registration is closed right after this event). */
  registration: [AgentRegistration];
  /** A node's current registration ended (its agent disconnected); not emitted for a replaced one. */
  unregistration: [AgentRegistration];
  /** A registration was refused because it does not answer SOCKS5; its connection is closed. */
  misconfigured: [node: string, error: Error];
}

/** A TCP connection not yet authenticated: its admission slot and its authentication deadline. */
interface PreAuthSlot {
  socket: net.Socket;
  source: string;
  released: boolean;
  deadline: NodeJS.Timeout;
}

/**
 * The SSH listener node agents dial in to (reverse tunnels). It bounds and times out connections before
 * authentication, authenticates agents as nodes (agent-auth.ts), allows each connection only its
 * registration (agent-connection.ts), probes it for SOCKS5 and hands out a ReverseSession per node.
 */
export class AgentServer extends EventEmitter<AgentServerEvents> {
  readonly stats: AgentServerStats = emptyAgentServerStats();
  private readonly options: ResolvedAgentServerOptions;
  private readonly logger: Logger;
  private readonly authenticator: AgentAuthenticator;
  private readonly admission: PreAuthAdmission;
  private readonly ssh: ssh2.Server;
  private readonly listener: net.Server;
  /** Keyed by the peer's address and port: how ssh2's 'connection' event finds the socket we admitted. */
  private readonly preAuth = new Map<string, PreAuthSlot>();
  private readonly current = new Map<string, AgentRegistration>();
  private readonly sockets = new Set<net.Socket>();
  private nextPort = 0;

  constructor(options: AgentServerOptions) {
    super();
    this.options = resolveAgentServerOptions(options);
    this.logger = options.logger ?? silentLogger();
    this.authenticator = new AgentAuthenticator({ lookupNode: options.lookupNode, ...(options.userCAs && { userCAs: options.userCAs }) });
    this.admission = new PreAuthAdmission(this.options.maxUnauthenticated, this.options.maxUnauthenticatedPerSource);
    this.ssh = new ssh2.Server({
      hostKeys: [options.hostKey],
      ident: 'ssh-egress',
      keepaliveInterval: this.options.keepaliveIntervalMs,
      keepaliveCountMax: this.options.keepaliveCountMax,
    });
    this.ssh.on('connection', (client, info) => this.onHandshake(client, info));
    this.listener = net.createServer({ noDelay: true }, (socket) => this.admit(socket));
  }

  /**
   * Trusts these CAs (none: certificates refused) from the next authentication on; agents registered already
   * keep their connections.
   */
  setUserCAs(userCAs: readonly TrustedUserCA[] | undefined): void {
    this.authenticator.setUserCAs(userCAs);
  }

  /** Connections that have not authenticated yet. */
  get unauthenticatedConnections(): number {
    return this.admission.unauthenticated;
  }

  /** The registration each node currently has. */
  registrations(): ReadonlyMap<string, AgentRegistration> {
    return this.current;
  }

  listen(port: number, host: string): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(port, host, () => {
        this.listener.off('error', reject);
        resolve(this.listener.address() as net.AddressInfo);
      });
    });
  }

  /** Stops listening and closes every agent connection. */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    return closed;
  }

  private admit(socket: net.Socket): void {
    const source = socket.remoteAddress ?? 'unknown';
    const verdict = this.admission.admit(source);
    if (verdict !== 'admitted') {
      if (verdict === 'total-limit') this.stats.rejectedTotalLimit += 1;
      else this.stats.rejectedSourceLimit += 1;
      this.logger.warn('agent connection dropped before the handshake', { remoteAddress: source, why: verdict });
      socket.destroy();
      return;
    }
    this.stats.connectionsAdmitted += 1;
    const key = peerKey(source, socket.remotePort);
    const slot: PreAuthSlot = {
      socket,
      source,
      released: false,
      deadline: setTimeout(() => {
        this.stats.authTimeouts += 1;
        this.logger.warn('agent did not authenticate in time; closing', { remoteAddress: source, timeoutMs: this.options.authTimeoutMs });
        socket.destroy();
      }, this.options.authTimeoutMs),
    };
    this.preAuth.set(key, slot);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.preAuth.delete(key);
      this.release(slot);
    });
    this.ssh.injectSocket(socket);
  }

  private release(slot: PreAuthSlot): void {
    if (slot.released) return;
    slot.released = true;
    clearTimeout(slot.deadline);
    this.admission.release(slot.source);
  }

  private onHandshake(client: Connection, info: ClientInfo): void {
    const slot = this.preAuth.get(peerKey(info.ip, info.port));
    if (!slot) {
      client.end();
      return;
    }
    const remoteSoftware = info.header.versions.software;
    superviseAgentConnection(client, {
      remoteAddress: info.ip,
      remotePort: info.port,
      authenticator: this.authenticator,
      maxAuthAttempts: this.options.maxAuthAttempts,
      registrationTimeoutMs: this.options.registrationTimeoutMs,
      allocatePort: () => 1024 + (this.nextPort++ % 64_000),
      stats: this.stats,
      logger: this.logger,
      onAuthenticated: () => {
        this.preAuth.delete(peerKey(info.ip, info.port));
        this.release(slot);
      },
      onRegistration: (request) => void this.register(client, slot.socket, request, info, remoteSoftware),
    });
  }

  private async register(client: Connection, socket: net.Socket, request: AgentRegistrationRequest, info: ClientInfo, remoteSoftware: string): Promise<void> {
    const session = new ReverseSession(client, socket, {
      node: request.node,
      agentKeyFingerprint: request.fingerprint,
      bindAddress: request.bindAddress,
      bindPort: request.bindPort,
      remoteAddress: info.ip,
      remotePort: info.port,
      remoteSoftware,
      maxWriteBufferBytes: this.options.maxWriteBufferBytes,
      connectionWindowBytes: this.options.connectionWindowBytes,
      socksTimeoutMs: this.options.socksTimeoutMs,
    });
    const failure = await session.probe().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    // Gone while being probed (either way): nothing to register, nothing to report as misconfigured.
    if (session.isClosed) {
      this.logger.info('agent disconnected before its registration was checked', { node: request.node, remoteAddress: info.ip });
      return;
    }
    if (failure) {
      this.stats.misconfigured += 1;
      this.logger.warn('agent registration refused', { node: request.node, remoteAddress: info.ip, error: failure.message });
      this.emit('misconfigured', request.node, failure);
      session.close();
      return;
    }
    const { bindAddress: _bind, bindPort: _port, ...identity } = request;
    const registration: AgentRegistration = { ...identity, session, remoteAddress: info.ip, remotePort: info.port };
    const previous = this.current.get(request.node);
    this.current.set(request.node, registration);
    this.stats.registrations += 1;
    if (previous) this.stats.replacements += 1;
    client.on('close', () => {
      if (this.current.get(request.node) !== registration) return;
      this.current.delete(request.node);
      this.logger.info('agent disconnected', { node: request.node, remoteAddress: info.ip });
      this.emit('unregistration', registration);
    });
    this.logger.info('agent registered', { node: request.node, remoteAddress: info.ip, fingerprint: request.fingerprint, replacing: previous !== undefined });
    this.emit('registration', registration);
    // Only now, with the new connection ready, does the old one go (a reconnect racing the old connection).
    previous?.session.close();
  }
}

function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? ''}|${port ?? ''}`;
}

