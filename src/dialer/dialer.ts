import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type https from 'node:https';
import type tls from 'node:tls';
import { NoRouteError, PolicyDeniedError, TunnelUnavailableError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { TunnelPool } from '../tunnel/pool.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { TunnelSocket } from '../tunnel/tunnel-socket.js';
import { parseTarget, type DialTarget } from './target.js';
import { route, type Route, type RouteReason } from './router.js';
import { buildRoutingTable, type RoutingTable } from './routing-table.js';
import { SpreadPicker } from './picker.js';
import { compileSettings, type DialerOptions, type DialerSettings } from './dialer-options.js';
import { TunnelHttpAgent, TunnelHttpsAgent } from './http-agents.js';
import { createUndiciConnector, type UndiciConnector } from './undici-connector.js';
import { ResolutionCache } from './resolution-cache.js';
import type { DialFunction } from './dial-function.js';

/** Targets whose resolution is kept; a few thousand cover a cluster's kubelets, busy pods and services. */
const RESOLUTION_CACHE_ENTRIES = 4096;

export type { DialerOptions } from './dialer-options.js';

export interface DialOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Carry the stream through this node's tunnel instead of the routed one. */
  via?: string;
  /** Keep writing after the far end finished sending (for pipes that half-close). Default false. */
  allowHalfOpen?: boolean;
}

/** The result of routing a target, for callers that want to show or log the decision. */
export type Resolution = Route & { target: string };

/** One finished dial, for metrics and logs: `error` is set when it failed. */
export interface DialEvent {
  target: string;
  node: string | undefined;
  reason: RouteReason | undefined;
  durationMs: number;
  /** The failure; an EgressError (with a `code`) for everything but a bug. */
  error: Error | undefined;
}

/** Opens streams to cluster destinations through the tunnel of the node that owns each one. */
export class Dialer extends EventEmitter<{ dial: [DialEvent] }> {
  private settings: DialerSettings;
  private readonly picker = new SpreadPicker();
  private readonly log: Logger;
  private table: RoutingTable;
  private readonly resolutions = new ResolutionCache<Readonly<Resolution>>(RESOLUTION_CACHE_ENTRIES);
  /** What the HTTP adapters dial with: this dialer, default options. */
  private readonly dialAddress: DialFunction = (target) => this.dial(target);

  constructor(
    private readonly pool: TunnelPool,
    options: DialerOptions = {},
  ) {
    super();
    this.settings = compileSettings(options);
    this.log = (options.logger ?? silentLogger()).child({ component: 'dialer' });
    this.table = buildRoutingTable(pool.nodes());
    pool.on('nodesChanged', (nodes) => {
      this.table = buildRoutingTable(nodes);
      this.resolutions.clear();
    });
  }

  /**
   * Replaces service CIDRs, policy and dial timeout (a config reload). Validates everything first, so a
   * bad update throws ConfigError and leaves the current rules in force. The logger is kept.
   */
  reconfigure(options: Omit<DialerOptions, 'logger'>): void {
    this.settings = compileSettings(options);
    this.resolutions.clear();
  }

  /**
   * Where a target would go, without dialling. Throws InvalidTargetError, NoRouteError (not part of the
   * cluster or an allowed range) or PolicyDeniedError (part of it, but the policy forbids that port).
   */
  resolve(target: DialTarget): Resolution {
    return { ...this.resolution(target) };
  }

  /** Opens a stream to the target. The result behaves like a net.Socket; `socket.node` names the carrier. */
  async dial(target: DialTarget, options: DialOptions = {}): Promise<TunnelSocket> {
    const started = performance.now();
    let resolution: Readonly<Resolution> | undefined;
    let node: string | undefined;
    try {
      resolution = this.resolution(target);
      const tunnel = this.tunnelFor(resolution, options.via);
      node = tunnel.name;
      const timeoutMs = options.timeoutMs ?? this.settings.dialTimeoutMs;
      const socket = await tunnel.openStream(resolution.host, resolution.port, {
        target: resolution.target,
        signal: options.signal,
        deadline: Date.now() + timeoutMs,
        timeoutMs,
        allowHalfOpen: options.allowHalfOpen,
      });
      // No event object for nobody: most library users never listen; the daemon's metrics do.
      if (this.listenerCount('dial') > 0) {
        this.emit('dial', { target: resolution.target, node, reason: resolution.reason, durationMs: performance.now() - started, error: undefined });
      }
      return socket;
    } catch (err) {
      const error = err as Error;
      // Refusals are what an SSRF attempt looks like: worth a line, at info so a flood stays quiet by default.
      // The level checks first: winston builds and formats the entry even when its level is filtered out.
      if (error instanceof PolicyDeniedError) {
        if (this.log.isInfoEnabled()) this.log.info('dial refused by policy', { target: error.target, reason: error.reason });
      } else if (this.log.isDebugEnabled()) {
        this.log.debug('dial failed', { target: resolution?.target ?? targetText(target), node, error: error.message });
      }
      if (this.listenerCount('dial') > 0) {
        const text = resolution?.target ?? targetText(target);
        this.emit('dial', { target: text, node, reason: resolution?.reason, durationMs: performance.now() - started, error });
      }
      throw err;
    }
  }

  /** An http.Agent whose connections are tunnel streams (host names resolve to nodes, never through DNS). */
  httpAgent(options: http.AgentOptions = {}): http.Agent {
    return new TunnelHttpAgent(this.dialAddress, options);
  }

  /** An https.Agent over tunnel streams; pass `ca` to verify the kubelet's or service's certificate. */
  httpsAgent(options: https.AgentOptions = {}): https.Agent {
    return new TunnelHttpsAgent(this.dialAddress, options);
  }

  /** A connector for undici's Agent/Client (`new Agent({ connect })`), so fetch goes through the tunnels. */
  undiciConnector(tlsOptions: tls.ConnectionOptions = {}): UndiciConnector {
    return createUndiciConnector(this.dialAddress, tlsOptions);
  }

  /** The cached resolution of `target`, or a new one (cached when it succeeds). */
  private resolution(target: DialTarget): Readonly<Resolution> {
    const cached = this.resolutions.get(target);
    if (cached) return cached;
    const parsed = parseTarget(target);
    const { rules, policy } = this.settings;
    const found = route(parsed, this.table, rules);
    policy.check(found, parsed.text, this.table);
    // Frozen: the cache hands the same object to every dial of this target.
    const resolution = Object.freeze({ ...found, target: parsed.text });
    this.resolutions.set(target, resolution);
    return resolution;
  }

  private tunnelFor(resolution: Readonly<Resolution>, via: string | undefined): Tunnel {
    const name = via ?? (resolution.via === 'node' ? resolution.node : undefined);
    // A node whose health check fails takes no new dials (its SSH connection stays up; see HealthMonitor).
    if (name === undefined) return this.picker.pick(this.pool.tunnels(), resolution.target, (t) => !this.pool.healthProblem(t));
    const tunnel = this.pool.get(name);
    if (!tunnel) throw new NoRouteError(resolution.target, `node ${name} has no tunnel (it left the inventory)`);
    const problem = this.pool.healthProblem(tunnel);
    if (problem) throw new TunnelUnavailableError(name, tunnel.currentState, `its health check fails (${problem.code}: ${problem.message})`, { target: resolution.target });
    return tunnel;
  }
}

/** A target that failed to parse, for the log and the 'dial' event: objects as JSON when they can be (a BigInt port cannot). */
function targetText(target: unknown): string {
  if (typeof target === 'string') return target;
  try {
    return JSON.stringify(target) ?? String(target);
  } catch {
    return String(target);
  }
}
