import type { Logger } from '../log.js';
import { TunnelState } from './state.js';
import type { Tunnel } from './tunnel.js';

/** Checks one READY tunnel end to end; rejects when the node does not answer as it should. */
export type Probe = (tunnel: Tunnel, limits: ProbeLimits) => Promise<void>;

export interface ProbeLimits {
  signal: AbortSignal;
  timeoutMs: number;
}

export interface HealthMonitorOptions {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
}

export interface HealthStatus {
  lastProbeAt: string | undefined;
  /** Round trip of the last successful probe, through the tunnel. */
  rttMs: number | undefined;
  consecutiveFailures: number;
  lastProbeError: string | undefined;
}

/**
 * Probes a tunnel while it is READY. The first probe comes at a random point of the interval and later
 * ones drift by ±10 %, so a thousand tunnels that connected together are not probed together. After
 * `failureThreshold` failures in a row the tunnel is marked unhealthy, which drops and reconnects it.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** Bumped on every start/stop so that a probe still in flight from an old connection is ignored. */
  private generation = 0;
  private lastProbeAt: Date | undefined;
  private rttMs: number | undefined;
  private consecutiveFailures = 0;
  private lastProbeError: string | undefined;

  constructor(
    private readonly tunnel: Tunnel,
    private readonly probe: Probe,
    private readonly options: HealthMonitorOptions,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    tunnel.on('stateChange', (change) => {
      if (change.to === TunnelState.READY) this.start();
      else this.stop();
    });
  }

  status(): HealthStatus {
    return {
      lastProbeAt: this.lastProbeAt?.toISOString(),
      rttMs: this.rttMs,
      consecutiveFailures: this.consecutiveFailures,
      lastProbeError: this.lastProbeError,
    };
  }

  private start(): void {
    this.stop();
    this.consecutiveFailures = 0;
    this.schedule(this.random() * this.options.intervalMs);
  }

  private stop(): void {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(delayMs: number): void {
    const generation = this.generation;
    this.timer = setTimeout(() => void this.run(generation), delayMs);
    // The SSH connection keeps the process alive; a probe timer alone should not.
    this.timer.unref();
  }

  private async run(generation: number): Promise<void> {
    const started = performance.now();
    const timeoutMs = this.options.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.probe(this.tunnel, { signal, timeoutMs });
      if (generation !== this.generation) return;
      this.lastProbeAt = new Date();
      this.rttMs = Math.round((performance.now() - started) * 100) / 100;
      this.consecutiveFailures = 0;
      this.lastProbeError = undefined;
    } catch (err) {
      if (generation !== this.generation) return;
      this.lastProbeAt = new Date();
      this.consecutiveFailures += 1;
      this.lastProbeError = signal.aborted ? `no answer within ${this.options.timeoutMs} ms` : (err as Error).message;
      this.log.warn('health check failed', {
        node: this.tunnel.name,
        failures: this.consecutiveFailures,
        threshold: this.options.failureThreshold,
        error: this.lastProbeError,
      });
      if (this.consecutiveFailures >= this.options.failureThreshold) {
        this.tunnel.markUnhealthy(`health check failed ${this.consecutiveFailures} times in a row: ${this.lastProbeError}`);
        return;
      }
    }
    this.schedule(this.options.intervalMs * (0.9 + 0.2 * this.random()));
  }
}
