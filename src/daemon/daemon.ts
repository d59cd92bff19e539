import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import type { EgressConfig } from '../config/config-types.js';
import { assertDaemonListeners, unverifiedKubeletWarning } from '../config/index.js';
import type { Dialer } from '../dialer/dialer.js';
import { createLogger, type Logger } from '../log.js';
import { EgressRuntime } from '../runtime/index.js';
import type { TunnelPool } from '../tunnel/pool.js';
import { AdminServer } from '../frontends/admin-server.js';
import type { Frontend } from '../frontends/frontend.js';
import { HttpConnectFrontend } from '../frontends/http-connect-server.js';
import { EgressMetrics } from '../frontends/metrics.js';
import { Socks5Frontend } from '../frontends/socks5-server.js';
import { readSocksUsers } from '../frontends/socks-credentials.js';
import type { AgentServer } from '../ssh/agent-server.js';
import { startAgentListener } from './agent-listener.js';

/** Settings that only a restart applies: reload keeps the running values and says so. */
const RESTART_ONLY = ['ssh', 'healthCheck', 'listeners', 'log', 'limits'] as const;

/**
 * The running service: the runtime (pool, dialer, inventory), the proxy front ends, and the admin server.
 * reload() applies a new config in place (unchanged nodes keep their tunnels); shutdown() drains and stops.
 */
export class Daemon {
  private config: EgressConfig;
  private readonly frontends: Frontend[] = [];
  private admin: AdminServer | undefined;
  /** Node agents' listener (reverse tunnels), when configured. */
  private agents: AgentServer | undefined;
  private stopping: Promise<void> | undefined;
  private readonly pool: TunnelPool;
  private readonly dialer: Dialer;

  private constructor(
    config: EgressConfig,
    private readonly loadConfig: () => Promise<EgressConfig>,
    private readonly runtime: EgressRuntime,
    private readonly metrics: EgressMetrics,
    readonly log: Logger,
  ) {
    this.config = config;
    this.pool = runtime.pool;
    this.dialer = runtime.dialer;
  }

  /** Loads the config, connects the pool and opens every listener; rejects (closing what it opened) on error. */
  static async start(loadConfig: () => Promise<EgressConfig>, logger?: Logger): Promise<Daemon> {
    const config = await loadConfig();
    assertDaemonListeners(config);
    const log = logger ?? createLogger(config.log);
    const runtime = await EgressRuntime.create(config, { logger: log, watchKubernetes: true });
    const metrics = new EgressMetrics(runtime.pool, runtime.dialer);
    metrics.addInventory(() => runtime.inventoryStatus());
    const daemon = new Daemon(config, loadConfig, runtime, metrics, log);
    try {
      await runtime.apply(config);
      await daemon.openListeners();
      daemon.warnAboutReverseNodes();
      const unverified = unverifiedKubeletWarning(config);
      if (unverified) log.warn(unverified);
    } catch (err) {
      await daemon.shutdown(0);
      throw err;
    }
    log.info('ssh-egress daemon started', {
      nodes: runtime.pool.nodes().length,
      listeners: daemon.frontends.map((f) => f.name).concat(daemon.admin ? [daemon.admin.name] : []),
    });
    return daemon;
  }

  get tunnelPool(): TunnelPool {
    return this.pool;
  }

  /** The live Kubernetes inventory (status, synced), when the inventory is kubernetes. */
  get kubernetes(): EgressRuntime['kubernetes'] {
    return this.runtime.kubernetes;
  }

  /**
   * Reads the config again and applies inventory, service CIDRs, policy, dial timeout and readiness share
   * in place. A config that does not load or validate is rejected whole, and the running one stays.
   */
  async reload(): Promise<boolean> {
    let next: EgressConfig;
    try {
      next = await this.loadConfig();
      assertDaemonListeners(next);
      await this.runtime.apply(next);
    } catch (err) {
      this.log.error('reload rejected, keeping the running config', { error: (err as Error).message });
      return false;
    }
    for (const key of RESTART_ONLY) {
      if (!isDeepStrictEqual(next[key], this.config[key])) {
        this.log.warn(`config section "${key}" changed: it takes effect at the next restart`);
        next = { ...next, [key]: this.config[key] };
      }
    }
    this.config = next;
    this.log.info('config reloaded', { nodes: this.pool.nodes().length });
    await this.reloadTrust();
    return true;
  }

  /** Host-key trust is files outside the config: read again on every reload, keeping the old on failure. */
  private async reloadTrust(): Promise<void> {
    try {
      const { checked, disconnected } = await this.pool.reloadTrust();
      this.log.info('host-key trust re-read', { checked, disconnected });
    } catch (err) {
      this.log.error('host-key trust not re-read, keeping the previous trust', { error: (err as Error).message });
    }
  }

  /**
   * Stops accepting, lets open streams finish for `graceMs`, then closes everything. Safe to call twice:
   * the second call waits for the first.
   */
  shutdown(graceMs = this.config.drainGraceMs): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.frontends.map((f) => f.stopAccepting()));
      await this.waitForStreams(graceMs);
      for (const frontend of this.frontends) frontend.destroyAll();
      await this.runtime.close();
      await this.agents?.close();
      await this.admin?.close();
      this.metrics.close();
      this.log.info('ssh-egress daemon stopped');
    })();
    return this.stopping;
  }

  private async waitForStreams(graceMs: number): Promise<void> {
    const open = (): number => this.frontends.reduce((sum, f) => sum + f.openConnections, 0);
    if (open() === 0 || graceMs <= 0) return;
    this.log.info('draining', { openConnections: open(), graceMs });
    const deadline = Date.now() + graceMs;
    while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (open() > 0) this.log.warn('drain grace period over, closing open connections', { openConnections: open() });
  }

  /** Reverse or auto nodes with no agent listener can never get an agent: say so at once. */
  private warnAboutReverseNodes(): void {
    if (this.agents) return;
    const waiting = this.pool.tunnels().filter((t) => t.mode !== 'forward').map((t) => t.name);
    if (waiting.length > 0) this.log.warn('nodes take reverse tunnels but no agent listener is configured (--agent-listen)', { nodes: waiting.slice(0, 20), count: waiting.length });
  }

  private async openListeners(): Promise<void> {
    const { connect, socks, admin, agents } = this.config.listeners;
    if (agents) {
      this.agents = await startAgentListener(agents, this.config.ssh, this.pool, this.log);
      this.metrics.addAgentServer(this.agents);
    }
    const { maxConnections, maxConnectionsPerClient } = this.config.limits ?? {};
    const options = { logger: this.log, dialTimeoutMs: this.config.dialTimeoutMs, maxConnections, maxConnectionsPerClient };
    if (connect?.socket) {
      this.frontends.push(new HttpConnectFrontend(this.dialer, { kind: 'unix', ...connect.socket }, options));
    }
    if (connect?.tcp) {
      this.frontends.push(new HttpConnectFrontend(this.dialer, { kind: 'tcp', ...connect.tcp }, options));
    }
    if (connect?.tls) {
      const { host, port, certFile, keyFile, clientCAFile } = connect.tls;
      const [cert, key, clientCA] = await Promise.all([readFile(certFile), readFile(keyFile), readFile(clientCAFile)]);
      this.frontends.push(new HttpConnectFrontend(this.dialer, { kind: 'tls', host, port, cert, key, clientCA }, options));
    }
    if (socks) {
      const users = await readSocksUsers(socks.users ?? []);
      const socksOptions = { ...options, ...(users.size > 0 && { users }) };
      if (socks.tcp) this.frontends.push(new Socks5Frontend(this.dialer, { kind: 'tcp', ...socks.tcp }, socksOptions));
      if (socks.socket) this.frontends.push(new Socks5Frontend(this.dialer, { kind: 'unix', ...socks.socket }, socksOptions));
    }
    for (const frontend of this.frontends) {
      this.metrics.addFrontend(frontend);
      await frontend.listen();
    }
    if (admin) {
      this.admin = new AdminServer({ ...admin, logger: this.log }, {
        pool: () => this.pool,
        readyFraction: () => this.config.readyFraction,
        maxInventoryStalenessSeconds: () => this.config.maxInventoryStalenessSeconds,
        inventory: () => this.runtime.inventoryStatus(),
        metrics: this.metrics,
      });
      await this.admin.listen();
    }
  }
}
