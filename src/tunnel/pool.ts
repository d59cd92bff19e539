import { EventEmitter } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import pLimit from 'p-limit';
import { ConfigError, NoAgentConnectedError, PoolClosedError, PoolNotReadyError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { sameConnection, type NodeSpec } from '../nodes/node-spec.js';
import { acceptsAgents, DEFAULT_TUNNEL_MODE, type TunnelMode } from '../nodes/tunnel-mode.js';
import type { AgentNodeLookup } from '../ssh/agent-auth.js';
import type { AgentRegistration, AgentServer } from '../ssh/agent-server.js';
import { exponentialBackoff, type RetryPolicy } from '../timing/backoff.js';
import { resolvePoolOptions, type ResolvedPoolOptions, type TunnelPoolOptions } from './pool-options.js';
import { createSsh2Connector } from '../ssh/ssh2-connector.js';
import type { SshConnector } from '../ssh/ssh-session.js';
import { changedFields, CONNECTION_FIELDS, FIXED_FIELDS } from './pool-reconfigure.js';
import { poolSsh, type PoolSsh } from './pool-ssh.js';
import { TunnelState } from './state.js';
import { Tunnel, type StateChange } from './tunnel.js';
import type { TunnelStatus } from './tunnel-status.js';
import { HealthMonitor, type HealthMonitorOptions, type HealthProblem, type Probe } from './health-monitor.js';
import { DialBudget } from './dial-budget.js';
import { kubeletVerification, probeFor } from './probes.js';
import { connectionGroup } from '../ssh/session-group.js';
import { AgentSessions } from './agent-sessions.js';
import { autoConnector, reverseConnector } from './agent-connectors.js';
import { withoutTunnel, type NodeWithoutTunnel } from './nodes-without-tunnel.js';
import { recheckTunnels, type TrustRecheck } from './trust-recheck.js';

export interface ReadyOptions {
  /** How many tunnels must be READY. Default: all of them. */
  min?: number;
  /** Give up after this long. Default: wait until `signal` aborts or the pool closes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface PoolEvents {
  stateChange: [StateChange];
  /** The set of nodes changed (setNodes); routing tables rebuild on it. */
  nodesChanged: [NodeSpec[]];
}

/**
 * One SSH tunnel per node. setNodes() reconciles the set; connection attempts share a bounded number of
 * slots; tunnels of removed nodes drain before they close.
 */
export class TunnelPool extends EventEmitter<PoolEvents> {
  private options: ResolvedPoolOptions;
  private readonly log: Logger;
  private readonly active = new Map<string, Tunnel>();
  private readonly draining = new Set<Tunnel>();
  private readonly gate: ReturnType<typeof pLimit>;
  private probe: Probe | undefined;
  private ssh: PoolSsh;
  /** One connector for every node (the ssh2 one, unless options.connector replaces it); replaced by reconfigure. */
  private connector: SshConnector;
  private retryPolicy: RetryPolicy;
  private readonly monitors = new WeakMap<Tunnel, HealthMonitor>();
  /** Registrations of the attached agent server (reverse and auto nodes). */
  private readonly agents = new AgentSessions();
  /** Pending dials across every tunnel, draining ones included (maxPendingDials). */
  private readonly dialBudget: DialBudget;
  private closed = false;
  /** Aborted by close(), so that pending ready() calls end too. */
  private readonly lifetime = new AbortController();

  constructor(options: TunnelPoolOptions) {
    super();
    this.options = resolvePoolOptions(options);
    this.log = (options.logger ?? silentLogger()).child({ component: 'pool' });
    this.gate = pLimit(this.options.maxConcurrentConnects);
    this.dialBudget = new DialBudget(this.options.maxPendingDials);
    this.probe = probeFor(this.options.healthCheck);
    this.ssh = poolSsh(this.options, this.log);
    this.connector = this.options.connector ?? createSsh2Connector(this.ssh.connectorOptions);
    this.retryPolicy = this.options.retryPolicy ?? exponentialBackoff(this.options.backoff);
  }

  /**
   * Checks new options (a reload) and returns the function that applies them, so a caller can check all of
   * its parts before changing any. Applied, they reach new work without dropping a healthy tunnel:
   * connection settings (CONNECTION_FIELDS: key, trust, timeouts, keepalive, window, connectionsPerNode)
   * as each node's connection is next made, limits and backoff at the next dial or retry, the health
   * check at each tunnel's next probe (health so far is kept). Nodes whose tunnel mode changes (the
   * default `tunnel`) get a new tunnel, the old one draining. Rejects, changing nothing, when the options
   * are invalid or a changed key or known_hosts file cannot be read.
   */
  async prepareOptions(options: TunnelPoolOptions): Promise<() => void> {
    if (this.closed) throw new PoolClosedError();
    const next = resolvePoolOptions(options);
    const fixed = changedFields(FIXED_FIELDS, this.options, next);
    if (fixed.length > 0) throw new ConfigError(fixed[0]!, 'cannot change on a running pool');
    const ssh = changedFields(CONNECTION_FIELDS, this.options, next).length > 0 ? poolSsh(next, this.log) : undefined;
    if (ssh) await Promise.all([ssh.credentials(), ssh.hostKeyPolicy()]);
    return () => this.applyOptions(next, ssh);
  }

  /** Adds new nodes, drains removed ones, and leaves unchanged nodes' tunnels alone. */
  setNodes(nodes: readonly NodeSpec[]): void {
    if (this.closed) throw new PoolClosedError();
    const wanted = new Map<string, NodeSpec>();
    nodes.forEach((node, index) => {
      if (wanted.has(node.name)) throw new ConfigError(`nodes[${index}].name`, `duplicate node name "${node.name}"`);
      wanted.set(node.name, node);
    });
    for (const [name, tunnel] of this.active) {
      const spec = wanted.get(name);
      if (spec && sameConnection(tunnel.spec, spec) && this.modeOf(spec) === tunnel.mode) {
        const keysChanged = !isDeepStrictEqual(tunnel.spec.agentKeys, spec.agentKeys);
        tunnel.spec = spec; // routing facts (pod CIDRs, kubelet port, labels) change without a reconnect
        if (keysChanged && acceptsAgents(tunnel.mode) && this.agents.closeUnlisted(name, spec.agentKeys ?? [])) {
          this.log.warn('agent key removed from the inventory: closing the agent connection it authenticated', { node: name });
        }
        continue;
      }
      this.active.delete(name);
      this.retire(tunnel, spec ? 'connection settings changed' : 'removed from inventory');
    }
    for (const spec of wanted.values()) {
      if (this.active.has(spec.name)) continue;
      const tunnel = this.createTunnel(spec);
      this.active.set(spec.name, tunnel);
      if (!this.options.lazyConnect) tunnel.connect();
    }
    this.log.info('nodes set', { nodes: this.active.size, draining: this.draining.size });
    this.emit('nodesChanged', this.nodes());
  }

  /** The current nodes (without draining ones). */
  nodes(): NodeSpec[] {
    return [...this.active.values()].map((t) => t.spec);
  }

  /** The tunnel of a current node. */
  get(name: string): Tunnel | undefined {
    return this.active.get(name);
  }

  tunnels(): Tunnel[] {
    return [...this.active.values()];
  }

  /**
   * Connects again at once, skipping the backoff: one node's tunnel, or with no name every tunnel that is
   * not READY, after the key file and known_hosts are read again (after fixing a key, an authorized_keys
   * entry or a host key).
   */
  reconnect(name?: string): void {
    if (name !== undefined) {
      this.active.get(name)?.reconnect();
      return;
    }
    this.ssh.credentials.reset();
    this.ssh.hostKeyPolicy.reset();
    for (const tunnel of this.active.values()) {
      if (tunnel.currentState !== TunnelState.READY) tunnel.reconnect();
    }
  }

  /**
   * Reads the key, known_hosts, trust-on-first-use records and the nodes' pins again (SIGHUP): new
   * connections use them, and a connected node whose host key they no longer trust is dropped at once (its
   * streams fail with the host-key error) and refused when it reconnects. Rejects, keeping the old trust,
   * when known_hosts cannot be read; a key that cannot be read is logged and the loaded one kept.
   */
  async reloadTrust(): Promise<TrustRecheck> {
    if (this.closed) throw new PoolClosedError();
    const policy = await this.ssh.hostKeyPolicy.reload();
    // The key is not part of the trust: failing to read it must not stop a revocation from taking effect.
    await this.ssh.credentials.reload().catch((err: unknown) => {
      this.log.error('key not re-read, keeping the loaded one', { error: (err as Error).message });
    });
    return recheckTunnels(this.active.values(), policy, this.log);
  }

  /** Resolves once `min` tunnels are READY; rejects with PoolNotReadyError listing the others' reasons. */
  ready(options: ReadyOptions = {}): Promise<void> {
    if (this.closed) return Promise.reject(new PoolClosedError());
    const wanted = options.min ?? this.active.size;
    const countReady = (): number => {
      let ready = 0;
      for (const tunnel of this.active.values()) if (tunnel.currentState === TunnelState.READY) ready += 1;
      return ready;
    };
    // At most this many can be READY: those that were, plus every move to READY since (a bound, not a count).
    let mayBeReady = countReady();
    if (mayBeReady >= wanted) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const finish = (err?: Error): void => {
        clearTimeout(timer);
        this.off('stateChange', check);
        options.signal?.removeEventListener('abort', onAbort);
        this.lifetime.signal.removeEventListener('abort', onClose);
        if (err) reject(err);
        else resolve();
      };
      // Recounting on every change was quadratic at 5,000 nodes: count again only once the bound says it may be done.
      const check = (change: StateChange): void => {
        if (change.to !== TunnelState.READY) return;
        mayBeReady += 1;
        if (mayBeReady >= wanted && countReady() >= wanted) finish();
      };
      const onClose = (): void => finish(new PoolClosedError());
      const notReady = (cause?: unknown): PoolNotReadyError =>
        new PoolNotReadyError(countReady(), wanted, this.describeNotReady(), { cause });
      const onAbort = (): void => finish(notReady(options.signal?.reason));
      const timer =
        options.timeoutMs === undefined ? undefined : setTimeout(() => finish(notReady()), options.timeoutMs);
      this.on('stateChange', check);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.lifetime.signal.addEventListener('abort', onClose, { once: true });
      if (options.signal?.aborted) onAbort();
    });
  }

  /**
   * Why a node's tunnel takes no new dials although it may be READY: its health check has failed
   * failureThreshold times in a row and no probe has passed since (routing skips it; readiness counts it out).
   */
  healthProblem(tunnel: Tunnel): HealthProblem | undefined {
    return this.monitors.get(tunnel)?.problem();
  }

  /** Each tunnel's own state with its health check's view, draining tunnels included. */
  status(): TunnelStatus[] {
    return [...this.tunnels(), ...this.draining].map((t) => ({ ...t.status(), health: this.monitors.get(t)?.status() }));
  }

  /**
   * Current nodes with no READY tunnel on this replica, and why: for a reverse node usually that no agent is
   * connected here, which shows before a dial fails ("no agent available").
   */
  nodesWithoutTunnel(): NodeWithoutTunnel[] {
    return withoutTunnel(this.tunnels().map((t) => t.status()));
  }

  /**
   * Takes node agents from `server` (reverse tunnels): a registration makes its node's tunnel READY at once,
   * and a newer one replaces the old connection. The pool attaches a server rather than owning one: the
   * listener (address, host key file, its lifetime across reloads) is the daemon's to run, and the pool stays
   * free of sockets it would have to listen on. Build the server with `lookupNode: (name) => pool.agentNode(name)`.
   */
  attachAgentServer(server: AgentServer): void {
    if (this.closed) throw new PoolClosedError();
    this.agents.attach(server, (registration) => this.onRegistration(registration));
  }

  /**
   * What the agent server needs to authenticate an agent claiming to be node `name`: its agent keys, when
   * the node is in the inventory and takes agents (reverse or auto); undefined otherwise.
   */
  readonly agentNode: AgentNodeLookup = (name) => {
    const tunnel = this.active.get(name);
    if (!tunnel || !acceptsAgents(tunnel.mode)) return undefined;
    return { agentKeys: tunnel.spec.agentKeys ?? [] };
  };

  /** Closes every tunnel at once; open streams fail with TunnelClosedError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lifetime.abort();
    this.agents.detach();
    for (const tunnel of [...this.active.values(), ...this.draining]) tunnel.shutdown('pool closed');
    this.active.clear();
    this.draining.clear();
  }

  private modeOf(spec: NodeSpec): TunnelMode {
    return spec.tunnel ?? this.options.tunnel ?? DEFAULT_TUNNEL_MODE;
  }

  private applyOptions(next: ResolvedPoolOptions, ssh: PoolSsh | undefined): void {
    const previous = this.options;
    this.options = next;
    if (ssh) {
      this.ssh = ssh;
      this.connector = next.connector ?? createSsh2Connector(ssh.connectorOptions);
    }
    this.retryPolicy = next.retryPolicy ?? exponentialBackoff(next.backoff);
    this.gate.concurrency = next.maxConcurrentConnects;
    this.dialBudget.limit = next.maxPendingDials;
    if (!isDeepStrictEqual(previous.healthCheck, next.healthCheck)) this.applyHealthCheck();
    if (previous.tunnel !== next.tunnel) this.setNodes(this.nodes());
  }

  /** The new probe for every tunnel: monitors keep each node's health so far; none when the kind is 'ssh'. */
  private applyHealthCheck(): void {
    this.probe = probeFor(this.options.healthCheck);
    for (const tunnel of [...this.active.values(), ...this.draining]) {
      const monitor = this.monitors.get(tunnel);
      if (!this.probe) {
        monitor?.dispose();
        this.monitors.delete(tunnel);
      } else if (monitor) {
        monitor.reconfigure(this.probe, this.monitorOptions());
      } else {
        this.monitors.set(tunnel, new HealthMonitor(tunnel, this.probe, this.monitorOptions(), this.log));
      }
    }
  }

  private monitorOptions(): HealthMonitorOptions {
    const health = this.options.healthCheck;
    return { ...health, kubeletVerified: kubeletVerification(health) };
  }

  private createTunnel(spec: NodeSpec): Tunnel {
    const mode = this.modeOf(spec);
    // Read at each use rather than copied, so that reconfigure() reaches the tunnels already made.
    const current = (): ResolvedPoolOptions => this.options;
    const dial: SshConnector = (node, signal) => connectionGroup(this.connector, current().connectionsPerNode)(node, signal);
    const reverse = mode === 'reverse';
    const retryPolicyNow = (): RetryPolicy => (reverse ? waitForAgent : this.retryPolicy);
    const tunnel = new Tunnel(spec, {
      mode,
      connector: reverse ? reverseConnector(this.agents) : mode === 'auto' ? autoConnector(dial, this.agents) : dial,
      get retryPolicy() {
        return retryPolicyNow();
      },
      // A reverse attempt dials nothing, so it takes no connection slot (nor waits behind stuck dials).
      gate: reverse ? (attempt) => attempt() : (attempt) => this.gate(attempt),
      logger: this.log,
      get maxPendingDials() {
        return current().maxPendingDialsPerTunnel;
      },
      dialBudget: this.dialBudget,
      get maxStreams() {
        return current().maxStreamsPerTunnel;
      },
      get stableAfterMs() {
        return current().stableAfterMs;
      },
    });
    tunnel.on('stateChange', (change) => {
      // An agent registered while this tunnel's attempt was failing: use it now (after the transition finished).
      if (change.to === TunnelState.TRANSIENT_FAILURE && acceptsAgents(mode) && this.agents.current(spec.name)) {
        queueMicrotask(() => tunnel.connect());
      }
      this.emit('stateChange', change);
    });
    if (this.probe) this.monitors.set(tunnel, new HealthMonitor(tunnel, this.probe, this.monitorOptions(), this.log));
    return tunnel;
  }

  private onRegistration(registration: AgentRegistration): void {
    const tunnel = this.active.get(registration.node);
    if (!tunnel || !acceptsAgents(tunnel.mode)) {
      // The inventory changed while the agent was being checked: it no longer takes this agent.
      this.log.warn('closing an agent registration for a node that takes no agents', { node: registration.node });
      registration.session.close();
      return;
    }
    if (tunnel.adoptReplacement(registration.session)) return;
    tunnel.connect(); // skips the rest of any backoff; an auto tunnel's attempt in flight took it already
  }

  private retire(tunnel: Tunnel, why: string): void {
    this.log.info('retiring tunnel', { node: tunnel.name, why });
    this.draining.add(tunnel);
    void tunnel.drain(this.options.drainGraceMs).then(() => this.draining.delete(tunnel));
  }

  private describeNotReady(): string {
    const lines = this.tunnels()
      .filter((t) => t.currentState !== TunnelState.READY)
      .map((t) => {
        const s = t.status();
        return `${s.node} ${s.state}${s.lastError ? ` (${s.lastError.message})` : ''}`;
      });
    return lines.length ? lines.join('; ') : 'no tunnels';
  }
}

/**
 * A reverse tunnel comes back only when its agent registers (the pool then connects it): after losing its
 * connection it looks once more at once (a newer registration may be there), then waits without a timer.
 */
const waitForAgent: RetryPolicy = (_attempt, error) => (error instanceof NoAgentConnectedError ? null : 0);
