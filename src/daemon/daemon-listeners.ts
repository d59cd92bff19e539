import { chmod, readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { EgressConfig, ListenerSettings } from '../config/config-types.js';
import type { Dialer } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import type { AdminServer } from '../frontends/admin-server.js';
import type { Frontend, FrontendSettings } from '../frontends/frontend.js';
import { HttpConnectFrontend } from '../frontends/http-connect-server.js';
import type { EgressMetrics } from '../frontends/metrics.js';
import { Socks5Frontend } from '../frontends/socks5-server.js';
import { readSocksUsers } from '../frontends/socks-credentials.js';

/** Where a proxy listener sits in the config's `listeners:`. */
type ProxyKey = 'connect.socket' | 'connect.tcp' | 'connect.tls' | 'socks.tcp' | 'socks.socket';

type TlsFiles = { cert: Buffer; key: Buffer; clientCA: Buffer };

/** A running listener and what it was made from. */
interface Running<T> {
  /** Its config sub-object: equal means nothing of it changed. */
  settings: unknown;
  /** Where it is bound ("unix:PATH", "tcp:HOST:PORT"): the same address is updated in place, never rebound. */
  address: string;
  server: T;
}

/**
 * A prepared change of the listeners: commit() applies it and names the files behind a listener that were
 * read again and found different (a rotated certificate, a new password); abort() closes what prepare() opened.
 */
export interface ListenerPlan {
  commit(): string[];
  abort(): Promise<void>;
}

/** Polls until no front end has an open connection or `graceMs` is over; the count left. */
export async function waitForDrain(frontends: readonly Frontend[], graceMs: number): Promise<number> {
  const open = (): number => frontends.reduce((sum, f) => sum + f.openConnections, 0);
  const deadline = Date.now() + graceMs;
  while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return open();
}

/**
 * The daemon's proxy front ends and admin server, brought to a config's `listeners:` at start and at each
 * reload. A listener whose address changed is rebound: the new socket listens before the old one stops
 * accepting, and the old one's open streams go on until they end (or drainGraceMs passes), as at shutdown.
 * One whose address stayed is changed in place (limits, dial budget, TLS certificate, SOCKS users, socket
 * mode), since a second socket could not bind the same address. The agent listener is not here.
 */
export class DaemonListeners {
  private readonly proxies = new Map<ProxyKey, Running<Frontend>>();
  /** Front ends that stopped accepting after a reload and wait for their streams. */
  private readonly retiring = new Set<Frontend>();
  private admin: Running<AdminServer> | undefined;
  private tlsFiles: TlsFiles | undefined;
  private socksUsers: ReadonlyMap<string, string> | undefined;

  constructor(
    private readonly dialer: Dialer,
    private readonly metrics: EgressMetrics,
    private readonly newAdmin: (settings: NonNullable<ListenerSettings['admin']>) => AdminServer,
    private readonly log: Logger,
  ) {}

  /** Every front end, retiring ones included: a shutdown drains them all. */
  frontends(): Frontend[] {
    return [...[...this.proxies.values()].map((r) => r.server), ...this.retiring];
  }

  names(): string[] {
    return [...this.proxies.values()].map((r) => r.server.name).concat(this.admin ? [this.admin.server.name] : []);
  }

  /**
   * Reads the files `config`'s listeners need and binds every new or moved listener; nothing running changes
   * yet. Rejects, closing what it bound, when a file cannot be read or an address cannot be bound.
   */
  async prepare(config: EgressConfig): Promise<ListenerPlan> {
    const { connect, socks, admin } = config.listeners;
    const wanted = new Map<ProxyKey, { settings: unknown; address: string }>();
    const want = (key: ProxyKey, settings: object | undefined, address: string): void => {
      if (settings) wanted.set(key, { settings, address });
    };
    want('connect.socket', connect?.socket, `unix:${connect?.socket?.path}`);
    want('connect.tcp', connect?.tcp, `tcp:${connect?.tcp?.host}:${connect?.tcp?.port}`);
    want('connect.tls', connect?.tls, `tcp:${connect?.tls?.host}:${connect?.tls?.port}`);
    want('socks.tcp', socks?.tcp, `tcp:${socks?.tcp?.host}:${socks?.tcp?.port}`);
    want('socks.socket', socks?.socket, `unix:${socks?.socket?.path}`);
    const tls = connect?.tls && (await readTlsFiles(connect.tls));
    const users = socks && (await readSocksUsers(socks.users ?? []));
    const settings = frontendSettings(config);

    const opened = new Map<ProxyKey, Running<Frontend>>();
    let openedAdmin: Running<AdminServer> | undefined;
    const abort = async (): Promise<void> => {
      for (const r of opened.values()) await r.server.stopAccepting();
      await openedAdmin?.server.close();
    };
    try {
      for (const [key, want] of wanted) {
        if (this.proxies.get(key)?.address === want.address) continue;
        const server = this.createProxy(key, config.listeners, settings, tls, users);
        opened.set(key, { ...want, server });
        await server.listen();
      }
      const adminAddress = admin && `tcp:${admin.host}:${admin.port}:${admin.allowNonLoopback === true}`;
      if (admin && adminAddress !== this.admin?.address) {
        openedAdmin = { settings: admin, address: adminAddress!, server: this.newAdmin(admin) };
        await openedAdmin.server.listen();
      }
    } catch (err) {
      await abort();
      throw err;
    }
    return {
      abort,
      commit: () => this.commit({ wanted, opened, admin: admin && (openedAdmin ?? this.admin), settings, tls, users, graceMs: config.drainGraceMs }),
    };
  }

  /** Stops accepting on every listener (shutdown); open streams go on. */
  async stopAccepting(): Promise<void> {
    await Promise.all(this.frontends().map((f) => f.stopAccepting()));
  }

  async closeAdmin(): Promise<void> {
    await this.admin?.server.close();
  }

  private commit(plan: {
    wanted: Map<ProxyKey, { settings: unknown; address: string }>;
    opened: Map<ProxyKey, Running<Frontend>>;
    admin: Running<AdminServer> | undefined;
    settings: FrontendSettings;
    tls: TlsFiles | undefined;
    users: ReadonlyMap<string, string> | undefined;
    graceMs: number;
  }): string[] {
    for (const [key, running] of this.proxies) {
      const want = plan.wanted.get(key);
      const replacement = plan.opened.get(key);
      if (want && !replacement) {
        this.updateInPlace(key, running, want.settings, plan);
        continue;
      }
      this.proxies.delete(key);
      void this.retire(running.server, plan.graceMs, replacement ? `rebound on ${replacement.server.name}` : 'removed from the config');
    }
    for (const [key, running] of plan.opened) {
      this.proxies.set(key, running);
      this.metrics.addFrontend(running.server);
    }
    const reread: string[] = [];
    if (plan.tls && this.tlsFiles && !isDeepStrictEqual(plan.tls, this.tlsFiles)) reread.push('listeners.connect.tls (certificate files)');
    if (plan.users && this.socksUsers && !isDeepStrictEqual(plan.users, this.socksUsers)) reread.push('listeners.socks.users (password files)');
    this.tlsFiles = plan.tls;
    this.socksUsers = plan.users;
    if (plan.admin !== this.admin) {
      void this.admin?.server.close();
      this.admin = plan.admin;
    }
    return reread;
  }

  /** A listener that keeps its address takes the new limits, files and mode where it is. */
  private updateInPlace(key: ProxyKey, running: Running<Frontend>, settings: unknown, plan: { settings: FrontendSettings; tls: TlsFiles | undefined; users: ReadonlyMap<string, string> | undefined }): void {
    const server = running.server;
    server.reconfigure(plan.settings);
    if (server instanceof HttpConnectFrontend && key === 'connect.tls' && plan.tls) server.setTlsCredentials(plan.tls);
    if (server instanceof Socks5Frontend && plan.users) server.setUsers(plan.users);
    const { path, mode } = settings as { path?: string; mode?: number };
    if (path !== undefined && mode !== undefined && !isDeepStrictEqual(settings, running.settings)) {
      void chmod(path, mode).catch((err: Error) => this.log.error('socket mode not changed', { listener: server.name, error: err.message }));
    }
    running.settings = settings;
  }

  private createProxy(key: ProxyKey, listeners: ListenerSettings, settings: FrontendSettings, tls: TlsFiles | undefined, users: ReadonlyMap<string, string> | undefined): Frontend {
    const { connect, socks } = listeners;
    const options = { logger: this.log, ...settings };
    const socksOptions = { ...options, ...(users && users.size > 0 && { users }) };
    switch (key) {
      case 'connect.socket':
        return new HttpConnectFrontend(this.dialer, { kind: 'unix', ...connect!.socket! }, options);
      case 'connect.tcp':
        return new HttpConnectFrontend(this.dialer, { kind: 'tcp', ...connect!.tcp! }, options);
      case 'connect.tls':
        return new HttpConnectFrontend(this.dialer, { kind: 'tls', host: connect!.tls!.host, port: connect!.tls!.port, ...tls! }, options);
      case 'socks.tcp':
        return new Socks5Frontend(this.dialer, { kind: 'tcp', ...socks!.tcp! }, socksOptions);
      case 'socks.socket':
        return new Socks5Frontend(this.dialer, { kind: 'unix', ...socks!.socket! }, socksOptions);
    }
  }

  /** Stops accepting at once; the open streams finish (or are cut after graceMs), then it is gone. */
  private async retire(frontend: Frontend, graceMs: number, why: string): Promise<void> {
    this.retiring.add(frontend);
    await frontend.stopAccepting();
    const open = frontend.openConnections;
    this.log.info('listener closed: open streams finish', { listener: frontend.name, why, openConnections: open, graceMs });
    const left = await waitForDrain([frontend], graceMs);
    if (left > 0) this.log.warn('drain grace period over, closing a retired listener\'s connections', { listener: frontend.name, openConnections: left });
    frontend.destroyAll();
    this.retiring.delete(frontend);
    this.metrics.removeFrontend(frontend);
  }
}

function frontendSettings(config: EgressConfig): FrontendSettings {
  const { maxConnections, maxConnectionsPerClient } = config.limits ?? {};
  return { dialTimeoutMs: config.dialTimeoutMs, maxConnections, maxConnectionsPerClient };
}

async function readTlsFiles(tls: { certFile: string; keyFile: string; clientCAFile: string }): Promise<TlsFiles> {
  const [cert, key, clientCA] = await Promise.all([readFile(tls.certFile), readFile(tls.keyFile), readFile(tls.clientCAFile)]);
  return { cert, key, clientCA };
}
