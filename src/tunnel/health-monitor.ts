import type { Logger } from '../log.js';
import { ProbeConnectionError } from './probe-failure.js';
import { TunnelState } from './state.js';
import type { StateChange, Tunnel } from './tunnel.js';

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
  /** Whether the probe checks the kubelet's certificate against a CA (shown in status); undefined for other probes. */
  kubeletVerified?: boolean | undefined;
}

/** Why a node is unhealthy: the last failed probe's error code and message. */
export interface HealthProblem {
  code: string;
  message: string;
}

export interface HealthStatus {
  /** False from failureThreshold failed probes in a row until a probe passes: the node takes no new dials. */
  healthy: boolean;
  lastProbeAt: string | undefined;
  /** Round trip of the last successful probe, through the tunnel. */
  rttMs: number | undefined;
  consecutiveFailures: number;
  lastProbeError: string | undefined;
  /** A stable code for lastProbeError, e.g. ERR_KUBELET_CERT, ERR_KUBELET_STATUS, ERR_CHANNEL_OPEN. */
  lastProbeErrorCode: string | undefined;
  /** False when kubelet probes accept any certificate (no CA given); undefined when the probe is not a kubelet's. */
  kubeletVerified: boolean | undefined;
}

/**
 * Probes a tunnel while it is READY and owns the node's health. The first probe comes at a random point of
 * the interval and later ones drift by ±10 %, so a thousand tunnels that connected together are not probed
 * together.
 *
 * After `failureThreshold` failures in a row, what happens depends on what failed:
 * - the SSH path itself (the probe's channel could not be opened: connection closed, no answer from sshd;
 *   ProbeConnectionError): the connection is dropped and the tunnel reconnects, as nothing else would cure it;
 * - anything the node answered over a working connection (a kubelet certificate the CA refuses, an HTTP
 *   status, a refused port): the node is marked unhealthy and the SSH connection is kept. Reconnecting would
 *   not change the answer, and it made such a node flap between READY and not. An unhealthy node takes no
 *   new dials (the dialer asks the pool, which asks this monitor) and counts as not ready, and it stays so,
 *   across reconnects too, until a probe passes.
 */
export class HealthMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** Bumped on every start/stop so that a probe still in flight from an old connection is ignored. */
  private generation = 0;
  private healthy = true;
  private lastProbeAt: Date | undefined;
  private rttMs: number | undefined;
  private consecutiveFailures = 0;
  private lastProbeError: HealthProblem | undefined;
  private readonly onStateChange = (change: StateChange): void => {
    if (change.to === TunnelState.READY) this.start();
    else this.stop();
  };

  /** Starts probing at once when the tunnel is already READY (a health check turned on by a reload). */
  constructor(
    private readonly tunnel: Tunnel,
    private probe: Probe,
    private options: HealthMonitorOptions,
    private readonly log: Logger,
    private readonly random: () => number = Math.random,
  ) {
    tunnel.on('stateChange', this.onStateChange);
    if (tunnel.currentState === TunnelState.READY) this.start();
  }

  /**
   * New settings (a reload) from the next probe on, keeping the node's health so far: an unhealthy node
   * stays out of routing until a probe passes. A wait for the next probe is cut to the new interval.
   */
  reconfigure(probe: Probe, options: HealthMonitorOptions): void {
    const intervalChanged = options.intervalMs !== this.options.intervalMs;
    this.probe = probe;
    this.options = options;
    if (intervalChanged && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.schedule(this.random() * options.intervalMs);
    }
  }

  /** Stops probing for good (the health check was turned off). */
  dispose(): void {
    this.stop();
    this.tunnel.off('stateChange', this.onStateChange);
  }

  status(): HealthStatus {
    return {
      healthy: this.healthy,
      lastProbeAt: this.lastProbeAt?.toISOString(),
      rttMs: this.rttMs,
      consecutiveFailures: this.consecutiveFailures,
      lastProbeError: this.lastProbeError?.message,
      lastProbeErrorCode: this.lastProbeError?.code,
      kubeletVerified: this.options.kubeletVerified,
    };
  }

  /** Why the node takes no new dials, while it is unhealthy. */
  problem(): HealthProblem | undefined {
    return this.healthy ? undefined : this.lastProbeError;
  }

  private start(): void {
    this.stop();
    this.consecutiveFailures = 0;
    // An unhealthy node is probed at once on a new connection: it is unusable until a probe passes.
    this.schedule(this.healthy ? this.random() * this.options.intervalMs : 0);
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
    this.timer = undefined; // probing now, not waiting
    const started = performance.now();
    const timeoutMs = this.options.timeoutMs;
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      await this.probe(this.tunnel, { signal, timeoutMs });
      if (generation !== this.generation) return;
      this.passed(Math.round((performance.now() - started) * 100) / 100);
    } catch (err) {
      if (generation !== this.generation) return;
      if (this.failed(err, signal.aborted)) return;
    }
    this.schedule(this.options.intervalMs * (0.9 + 0.2 * this.random()));
  }

  private passed(rttMs: number): void {
    this.lastProbeAt = new Date();
    this.rttMs = rttMs;
    this.consecutiveFailures = 0;
    this.lastProbeError = undefined;
    if (this.healthy) return;
    this.healthy = true;
    this.log.info('health check passes again: node takes dials', { node: this.tunnel.name });
  }

  /** Records a failed probe; true when it dropped the connection (no further probe on it). */
  private failed(err: unknown, timedOut: boolean): boolean {
    this.lastProbeAt = new Date();
    this.consecutiveFailures += 1;
    this.lastProbeError = describeProbeFailure(err, timedOut, this.options.timeoutMs);
    const { failureThreshold } = this.options;
    const fields = { node: this.tunnel.name, failures: this.consecutiveFailures, threshold: failureThreshold, code: this.lastProbeError.code, error: this.lastProbeError.message };
    this.log.warn('health check failed', fields);
    if (this.consecutiveFailures < failureThreshold) return false;
    if (err instanceof ProbeConnectionError) {
      this.tunnel.dropConnection(`health check failed ${this.consecutiveFailures} times in a row: ${this.lastProbeError.message}`);
      return true;
    }
    if (this.healthy) {
      this.healthy = false;
      this.log.error('node unhealthy: no new dials until a health check passes (the SSH connection is kept)', fields);
    }
    return false;
  }
}

function describeProbeFailure(err: unknown, timedOut: boolean, timeoutMs: number): HealthProblem {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (timedOut && !(err instanceof ProbeConnectionError)) return { code: 'ERR_DIAL_TIMEOUT', message: `no answer within ${timeoutMs} ms` };
  return { code: typeof code === 'string' ? code : 'ERR_HEALTH_CHECK', message: err instanceof Error ? err.message : String(err) };
}
