import { isDeepStrictEqual } from 'node:util';
import type { EgressConfig } from '../config/config-types.js';
import { assertDaemonListeners, unverifiedKubeletWarning } from '../config/index.js';
import { createLogger, reconfigureLogger, type Logger } from '../log.js';
import { EgressRuntime } from '../runtime/index.js';
import type { TunnelPool } from '../tunnel/pool.js';
import type { TrustRecheck } from '../tunnel/trust-recheck.js';
import { AdminServer } from '../frontends/admin-server.js';
import { EgressMetrics } from '../frontends/metrics.js';
import type { AgentServer } from '../ssh/agent-server.js';
import { readAgentUserCAs, startAgentListener } from './agent-listener.js';
import { changedFields, needingRestart } from './config-changes.js';
import { DaemonListeners, waitForDrain, type ListenerPlan } from './daemon-listeners.js';

/**
 * The running service: the runtime (pool, dialer, inventory), the proxy front ends, and the admin server.
 * reload() applies a new config in place (unchanged nodes keep their tunnels); shutdown() drains and stops.
 */
export class Daemon {
  private config: EgressConfig;
  private readonly listeners: DaemonListeners;
  /** Node agents' listener (reverse tunnels), when configured. */
  private agents: AgentServer | undefined;
  /** Fingerprints of the CAs the agent listener trusts, to tell a rotated user CA file on reload. */
  private agentUserCAs: string[] = [];
  private stopping: Promise<void> | undefined;
  /** The reload in progress (or the last one): the next waits for it. */
  private reloading: Promise<boolean> = Promise.resolve(true);
  private readonly pool: TunnelPool;

  private constructor(
    config: EgressConfig,
    private readonly loadConfig: () => Promise<EgressConfig>,
    private readonly runtime: EgressRuntime,
    private readonly metrics: EgressMetrics,
    readonly log: Logger,
    /** False when the caller gave the logger: its settings are the caller's, and reload leaves them alone. */
    private readonly ownsLogger: boolean,
  ) {
    this.config = config;
    this.pool = runtime.pool;
    this.listeners = new DaemonListeners(
      runtime.dialer,
      metrics,
      (admin) =>
        new AdminServer({ ...admin, logger: log }, {
          pool: () => this.pool,
          readyFraction: () => this.config.readyFraction,
          maxInventoryStalenessSeconds: () => this.config.maxInventoryStalenessSeconds,
          inventory: () => this.runtime.inventoryStatus(),
          metrics,
        }),
      log,
    );
  }

  /** Loads the config, connects the pool and opens every listener; rejects (closing what it opened) on error. */
  static async start(loadConfig: () => Promise<EgressConfig>, logger?: Logger): Promise<Daemon> {
    const config = await loadConfig();
    assertDaemonListeners(config);
    const log = logger ?? createLogger(config.log);
    const runtime = await EgressRuntime.create(config, { logger: log, watchKubernetes: true });
    const metrics = new EgressMetrics(runtime.pool, runtime.dialer);
    metrics.addInventory(() => runtime.inventoryStatus());
    const daemon = new Daemon(config, loadConfig, runtime, metrics, log, logger === undefined);
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
    log.info('ssh-egress daemon started', { nodes: runtime.pool.nodes().length, listeners: daemon.listeners.names() });
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
   * Reads the config again and applies all of it in place (docs/daemon.md has the table): inventory,
   * policy, limits and log at once, ssh settings to each connection as it is next made, the health check
   * from each node's next probe, moved listeners rebound with their open streams kept. Host-key trust is
   * read again too. A config that does not load, validate or bind is rejected whole and the running one
   * stays. Logs one line naming the changed fields and anything that needs a restart.
   */
  reload(): Promise<boolean> {
    // One at a time: two quick SIGHUPs must not bind the same new address twice or interleave their commits.
    const run = this.reloading.then(() => this.reloadNow());
    this.reloading = run;
    return run;
  }

  private async reloadNow(): Promise<boolean> {
    let next: EgressConfig;
    let listeners: ListenerPlan | undefined;
    let needsRestart: string[];
    let agentUserCAs: (() => string[]) | undefined;
    try {
      next = await this.loadConfig();
      assertDaemonListeners(next);
      needsRestart = needingRestart(this.config, next);
      if (!needsRestart.includes('listeners.agents')) agentUserCAs = await this.prepareAgentUserCAs(next);
      listeners = await this.listeners.prepare(next);
      await this.runtime.apply(next);
    } catch (err) {
      await listeners?.abort();
      this.log.error('reload rejected, keeping the running config', { error: (err as Error).message });
      return false;
    }
    const reread = [...listeners.commit(), ...(agentUserCAs?.() ?? [])];
    // What cannot change stays as it runs, so the next reload compares against what is really in force.
    if (needsRestart.includes('listeners.agents')) next = { ...next, listeners: { ...next.listeners, agents: this.config.listeners.agents } };
    if (this.ownsLogger) reconfigureLogger(this.log, next.log);
    const changed = changedFields(this.config, next);
    this.config = next;
    const hostKeys = await this.reloadTrust();
    this.log.info('config reloaded', { changed, reread, needsRestart, hostKeys, nodes: this.pool.nodes().length });
    return true;
  }

  /**
   * Reads the agent listener's user CA file of `next` (a rotation, or another file); the commit makes the
   * next agent authentications trust it and names a rotated file. Undefined without an agent listener.
   */
  private async prepareAgentUserCAs(next: EgressConfig): Promise<(() => string[]) | undefined> {
    const settings = next.listeners.agents;
    const server = this.agents;
    if (!settings || !server) return undefined;
    const cas = await readAgentUserCAs(settings);
    const fingerprints = cas?.map((ca) => ca.fingerprint) ?? [];
    const sameFile = settings.userCAFile === this.config.listeners.agents?.userCAFile;
    return () => {
      server.setUserCAs(cas);
      const rotated = sameFile && !isDeepStrictEqual(fingerprints, this.agentUserCAs);
      this.agentUserCAs = fingerprints;
      return rotated ? ['listeners.agents.userCAFile (CA keys)'] : [];
    };
  }

  /** Host-key trust is files outside the config: read again on every reload, keeping the old on failure. */
  private async reloadTrust(): Promise<TrustRecheck | 'kept: known_hosts unreadable'> {
    try {
      return await this.pool.reloadTrust();
    } catch (err) {
      this.log.error('host-key trust not re-read, keeping the previous trust', { error: (err as Error).message });
      return 'kept: known_hosts unreadable';
    }
  }

  /**
   * Stops accepting, lets open streams finish for `graceMs`, then closes everything. Safe to call twice:
   * the second call waits for the first.
   */
  shutdown(graceMs = this.config.drainGraceMs): Promise<void> {
    this.stopping ??= (async () => {
      await this.listeners.stopAccepting();
      await this.waitForStreams(graceMs);
      for (const frontend of this.listeners.frontends()) frontend.destroyAll();
      await this.runtime.close();
      await this.agents?.close();
      await this.listeners.closeAdmin();
      this.metrics.close();
      this.log.info('ssh-egress daemon stopped');
    })();
    return this.stopping;
  }

  private async waitForStreams(graceMs: number): Promise<void> {
    const frontends = this.listeners.frontends();
    const open = frontends.reduce((sum, f) => sum + f.openConnections, 0);
    if (open === 0 || graceMs <= 0) return;
    this.log.info('draining', { openConnections: open, graceMs });
    const left = await waitForDrain(frontends, graceMs);
    if (left > 0) this.log.warn('drain grace period over, closing open connections', { openConnections: left });
  }

  /** Reverse or auto nodes with no agent listener can never get an agent: say so at once. */
  private warnAboutReverseNodes(): void {
    if (this.agents) return;
    const waiting = this.pool.tunnels().filter((t) => t.mode !== 'forward').map((t) => t.name);
    if (waiting.length > 0) this.log.warn('nodes take reverse tunnels but no agent listener is configured (--agent-listen)', { nodes: waiting.slice(0, 20), count: waiting.length });
  }

  private async openListeners(): Promise<void> {
    const { agents } = this.config.listeners;
    if (agents) {
      const userCAs = await readAgentUserCAs(agents);
      this.agentUserCAs = userCAs?.map((ca) => ca.fingerprint) ?? [];
      this.agents = await startAgentListener(agents, this.config.ssh, this.pool, this.log, userCAs);
      this.metrics.addAgentServer(this.agents);
    }
    (await this.listeners.prepare(this.config)).commit();
  }
}
