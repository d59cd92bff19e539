import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EgressError } from '../errors.js';
import type { Dialer, DialEvent } from '../dialer/dialer.js';
import type { RouteReason } from '../dialer/router.js';
import type { TunnelPool } from '../tunnel/pool.js';
import { TunnelState } from '../tunnel/state.js';
import type { StateChange } from '../tunnel/tunnel.js';
import type { Frontend } from './frontend.js';
import { StreamByteTotals } from './metrics-bytes.js';
import { registerAgentMetrics } from './metrics-agents.js';
import { registerInventoryMetrics } from './metrics-inventory.js';
import type { InventoryStatusSource } from './inventory-status.js';
import type { AgentServer } from '../ssh/agent-server.js';

const PREFIX = 'ssh_egress_';
const ROUTES = ['kubelet', 'node', 'pod', 'service', 'allowed'] as const satisfies readonly RouteReason[];
/** A channel opens in ~0.2 ms on a warm tunnel; a dial waiting for a slow handshake can take seconds. */
const DIAL_BUCKETS_SECONDS = [0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The daemon's Prometheus metrics, in a registry of its own (never prom-client's global one, so that two
 * daemons in one process do not collide). Event counters are fed by the pool's 'stateChange' and the
 * dialer's 'dial' events; gauges and byte totals are read from the pool when scraped.
 *
 * Cardinality: a pool may hold 1,000 nodes, so no metric has a node label; labels are states, routes and
 * error codes, each a short fixed list. Per-node detail (state, last error, probe RTT) is in /status. The
 * health probes are summarised as the slowest last RTT and the number of tunnels whose last probe failed.
 */
export class EgressMetrics {
  readonly registry = new Registry();
  private readonly pool: TunnelPool;
  private readonly dialer: Dialer;
  private readonly frontends = new Set<Frontend>();
  private readonly bytes = new StreamByteTotals();

  private readonly connects: Counter;
  private readonly connectFailures: Counter<'reason'>;
  private readonly disconnects: Counter<'reason'>;
  private readonly dialDuration: Histogram<'route'>;
  private readonly dials: Counter<'route' | 'result'>;
  private readonly dialFailures: Counter<'reason'>;

  private readonly onStateChange = (change: StateChange): void => this.countStateChange(change);
  private readonly onDial = (event: DialEvent): void => this.countDial(event);
  private readonly onNodesChanged = (): void => this.bytes.track(this.pool.tunnels());

  constructor(pool: TunnelPool, dialer: Dialer) {
    this.pool = pool;
    this.dialer = dialer;
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: PREFIX });

    // Scrape-time views of the pool. `self` because prom-client calls collect() with the metric as `this`.
    const self = this;
    new Gauge({
      name: `${PREFIX}tunnels`,
      help: 'Tunnels of the current nodes by connectivity state (draining tunnels are counted apart).',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = new Map<string, number>(Object.values(TunnelState).map((s) => [s, 0]));
        for (const s of self.pool.status()) if (!s.draining) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
        for (const [state, n] of counts) this.set({ state }, n);
      },
    });
    new Gauge({
      name: `${PREFIX}tunnels_draining`,
      help: 'Tunnels of nodes that left the inventory (or changed connection settings), still draining streams.',
      registers,
      collect() {
        this.set(self.pool.status().filter((s) => s.draining).length);
      },
    });
    new Gauge({
      name: `${PREFIX}active_streams`,
      help: 'Streams open through all tunnels, draining ones included.',
      registers,
      collect() {
        this.set(self.pool.status().reduce((sum, s) => sum + s.openStreams, 0));
      },
    });
    new Counter({
      name: `${PREFIX}stream_bytes_total`,
      help: 'Bytes carried by tunnel streams; direction "in" is from the cluster, "out" towards it.',
      labelNames: ['direction'],
      registers,
      collect() {
        self.bytes.track(self.pool.tunnels());
        const delta = self.bytes.takeDeltas();
        this.inc({ direction: 'in' }, delta.in);
        this.inc({ direction: 'out' }, delta.out);
      },
    });
    new Gauge({
      name: `${PREFIX}frontend_connections`,
      help: 'Client connections open on each proxy front end.',
      labelNames: ['frontend'],
      registers,
      collect() {
        for (const f of self.frontends) this.set({ frontend: f.name }, f.openConnections);
      },
    });
    new Gauge({
      name: `${PREFIX}probe_rtt_max_seconds`,
      help: 'Slowest round trip among READY tunnels\' last successful health probes (per node: /status).',
      registers,
      collect() {
        const rtts = self.pool.status().flatMap((s) => (s.state === TunnelState.READY && s.health?.rttMs !== undefined ? [s.health.rttMs] : []));
        this.set(rtts.length ? Math.max(...rtts) / 1000 : 0);
      },
    });
    new Gauge({
      name: `${PREFIX}probe_failing_tunnels`,
      help: 'READY tunnels whose last health probe failed.',
      registers,
      collect() {
        this.set(self.pool.status().filter((s) => s.state === TunnelState.READY && (s.health?.consecutiveFailures ?? 0) > 0).length);
      },
    });

    this.connects = new Counter({ name: `${PREFIX}tunnel_connects_total`, help: 'Tunnels that became READY.', registers });
    this.connectFailures = new Counter({
      name: `${PREFIX}tunnel_connect_failures_total`,
      help: 'Connection attempts that failed, by error code (ERR_CONNECT, ERR_AUTH, ERR_HOST_KEY_MISMATCH, ...).',
      labelNames: ['reason'],
      registers,
    });
    this.disconnects = new Counter({
      name: `${PREFIX}tunnel_disconnects_total`,
      help: 'READY tunnels that lost their connection, by error code.',
      labelNames: ['reason'],
      registers,
    });
    this.dialDuration = new Histogram({
      name: `${PREFIX}dial_duration_seconds`,
      help: 'Time to open a stream (waiting for the tunnel plus opening the channel), successful dials only.',
      labelNames: ['route'],
      buckets: DIAL_BUCKETS_SECONDS,
      registers,
    });
    this.dials = new Counter({
      name: `${PREFIX}dials_total`,
      help: 'Dials by route (kubelet, node, pod, service, allowed; "none" when routing failed) and result.',
      labelNames: ['route', 'result'],
      registers,
    });
    this.dialFailures = new Counter({
      name: `${PREFIX}dial_failures_total`,
      help: 'Failed dials by error code (ERR_NO_ROUTE, ERR_CHANNEL_OPEN, ERR_DIAL_TIMEOUT, ...).',
      labelNames: ['reason'],
      registers,
    });
    // Known label values start at 0, so rate() sees the first dial of each kind.
    for (const route of ROUTES) for (const result of ['success', 'failure']) this.dials.labels({ route, result }).inc(0);

    this.listen();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text for a scrape. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Counts a proxy front end's open connections (its `name` becomes the label value). */
  addFrontend(frontend: Frontend): void {
    this.frontends.add(frontend);
  }

  /** Stops counting a front end's connections (it closed after a reload, its streams finished). */
  removeFrontend(frontend: Frontend): void {
    this.frontends.delete(frontend);
  }

  /** Exports the agent listener's counters (reverse tunnels); once per daemon. */
  addAgentServer(server: AgentServer): void {
    registerAgentMetrics(this.registry, PREFIX, server);
  }

  /** Exports the inventory's health (last sync, errors by code, nodes); once per daemon. */
  addInventory(inventory: InventoryStatusSource): void {
    registerInventoryMetrics(this.registry, PREFIX, inventory);
  }

  /** Stops listening to the pool and dialer. */
  close(): void {
    this.unlisten();
    this.frontends.clear();
  }

  private listen(): void {
    this.pool.on('stateChange', this.onStateChange);
    this.pool.on('nodesChanged', this.onNodesChanged);
    this.dialer.on('dial', this.onDial);
    this.bytes.track(this.pool.tunnels());
  }

  private unlisten(): void {
    this.pool.off('stateChange', this.onStateChange);
    this.pool.off('nodesChanged', this.onNodesChanged);
    this.dialer.off('dial', this.onDial);
  }

  private countStateChange({ from, to, error }: StateChange): void {
    if (to === TunnelState.READY) this.connects.inc();
    else if (to === TunnelState.TRANSIENT_FAILURE && from === TunnelState.CONNECTING) this.connectFailures.inc({ reason: errorCode(error) });
    else if (to === TunnelState.TRANSIENT_FAILURE && from === TunnelState.READY) this.disconnects.inc({ reason: errorCode(error) });
  }

  private countDial({ reason, durationMs, error }: DialEvent): void {
    const route = reason ?? 'none';
    if (error) {
      this.dials.inc({ route, result: 'failure' });
      this.dialFailures.inc({ reason: errorCode(error) });
      return;
    }
    this.dials.inc({ route, result: 'success' });
    this.dialDuration.observe({ route }, durationMs / 1000);
  }
}

/** The stable error code, the same label the proxy front ends report; "internal" for a bug. */
function errorCode(err: Error | undefined): string {
  if (err === undefined) return 'unknown';
  return err instanceof EgressError ? err.code : 'internal';
}
