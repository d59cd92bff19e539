import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { DEFAULT_TUNNEL_MODE, type TunnelDirection, type TunnelMode } from '../nodes/tunnel-mode.js';
import { EgressError, TunnelClosedError, TunnelUnavailableError, isPermanentFailure } from '../errors.js';
import { TunnelState, isAllowedTransition } from './state.js';
import type { RetryPolicy } from '../timing/backoff.js';
import type { SshConnector, SshSession } from '../ssh/ssh-session.js';
import { TunnelSocket } from './tunnel-socket.js';
import { asEgressError } from './classify-error.js';
import { withDeadline, type Deadline } from '../timing/deadline.js';
import { StreamAdmission, type StreamAdmissionLimits } from './stream-admission.js';

/** The limits (pending dials fail fast with DialQueueFullError, streams past maxStreams with StreamLimitError). */
export interface TunnelOptions extends StreamAdmissionLimits {
  connector: SshConnector;
  /** Which way the node's connection goes (shown in status; the connector acts on it). Default forward. */
  mode?: TunnelMode;
  retryPolicy: RetryPolicy;
  /** Runs a connection attempt when a slot is free, so a large pool does not storm sshd's MaxStartups. */
  gate: <T>(attempt: () => Promise<T>) => Promise<T>;
  logger: Logger;
  /** A connection that stays up this long resets the backoff. */
  stableAfterMs: number;
}

export interface StateChange {
  node: string;
  from: TunnelState;
  to: TunnelState;
  error: EgressError | undefined;
}

export interface OpenStreamOptions extends Deadline {
  allowHalfOpen?: boolean | undefined;
}

/** What a tunnel knows of itself; the pool adds the health check's view (TunnelStatus). */
export interface TunnelSnapshot {
  node: string;
  address: string;
  sshPort: number;
  /** The node's setting: forward, reverse or auto. */
  mode: TunnelMode;
  /**
   * The connection's direction: "reverse" when the node's agent dialled us, "forward" when we dialled its
   * sshd. Without a connection, the way the next one comes (an `auto` node counts as forward: it dials).
   */
  direction: TunnelDirection;
  /** The agent's address and port, for a reverse connection. */
  agent: { remoteAddress: string; remotePort: number } | undefined;
  state: TunnelState;
  since: string;
  lastError: { code: string; message: string } | undefined;
  attempts: number;
  nextRetryAt: string | undefined;
  hostKeyFingerprint: string | undefined;
  draining: boolean;
  openStreams: number;
  /** SSH connections to the node now (connectionsPerNode when READY, else 0). */
  connections: number;
  /** Sent through the tunnel and not yet acknowledged by the node's sshd (bounded by connectionWindowBytes). */
  inFlightBytes: number;
  bytesIn: number;
  bytesOut: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: EgressError) => void;
}

/**
 * One node's SSH connection as a state machine. Every state change goes through transition(), which
 * refuses moves the table in state.ts does not allow; listeners hear about a change after it happened.
 * What may pass through the connection (pending dials, stream limits) is StreamAdmission's part.
 */
export class Tunnel extends EventEmitter<{ stateChange: [StateChange] }> {
  spec: NodeSpec;
  private state: TunnelState = TunnelState.IDLE;
  private since = new Date();
  private lastError: EgressError | undefined;
  private attempts = 0;
  private nextRetryAt: Date | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private session: SshSession | undefined;
  private hostKeyFingerprint: string | undefined;
  private attemptAbort: AbortController | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly admission: StreamAdmission;
  private draining = false;
  private readonly log: Logger;

  constructor(
    spec: NodeSpec,
    private readonly options: TunnelOptions,
  ) {
    super();
    this.spec = spec;
    this.log = options.logger.child({ node: spec.name });
    this.admission = new StreamAdmission(spec.name, options, (openStreams) => {
      if (this.draining && openStreams === 0) this.shutdown('drained');
    });
  }

  get name(): string {
    return this.spec.name;
  }

  get mode(): TunnelMode {
    return this.options.mode ?? DEFAULT_TUNNEL_MODE;
  }

  get currentState(): TunnelState {
    return this.state;
  }

  get openStreams(): number {
    return this.admission.openStreams;
  }

  /** Dials waiting for this tunnel to connect or for their channel to open (bounded by maxPendingDials). */
  get pendingDials(): number {
    return this.admission.pendingDials;
  }

  /** Starts connecting now if idle or waiting to retry (a retry skips the rest of its backoff). */
  connect(): void {
    if (this.draining) return;
    if (this.state === TunnelState.IDLE || this.state === TunnelState.TRANSIENT_FAILURE) this.startAttempt();
  }

  /** Drops the current connection, if any, and connects again at once (after a config change). */
  reconnect(): void {
    if (this.state === TunnelState.SHUTDOWN || this.draining) return;
    if (this.state === TunnelState.READY) {
      this.failConnection(new TunnelClosedError(this.name, 'reconnect requested'));
    }
    this.attempts = 0;
    this.connect();
  }

  /** The health check found the SSH path dead: drop the current connection (streams fail) and reconnect. */
  dropConnection(reason: string): void {
    if (this.state !== TunnelState.READY) return;
    this.failConnection(new TunnelClosedError(this.name, reason));
  }

  /** The node's host key is no longer trusted: drop the connection now, its streams failing with `error`. */
  dropUntrusted(error: EgressError): void {
    if (this.state !== TunnelState.READY) return;
    this.failConnection(error);
  }

  /**
   * A node's agent registered again while its earlier registration carries this tunnel (a reconnect racing
   * the old connection): the new session takes over without a state change, so new dials keep working;
   * streams on the old one end with it. Returns false, changing nothing, unless the tunnel is READY over an
   * agent's connection.
   */
  adoptReplacement(session: SshSession): boolean {
    const current = this.session;
    if (this.state !== TunnelState.READY || !current?.agent || current === session) return false;
    this.hold(session);
    this.log.info('agent connection replaced', { agent: session.agent, previousAgent: current.agent });
    return true;
  }

  /** Opens a stream through this tunnel, waiting for a connection in progress up to the deadline. */
  async openStream(host: string, port: number, options: OpenStreamOptions): Promise<TunnelSocket> {
    this.refuseUnlessUsable();
    const release = this.admission.admitDial(options.target);
    try {
      await this.waitUntilReady(options);
      return await this.openChannel(host, port, options);
    } finally {
      release();
    }
  }

  private async openChannel(host: string, port: number, options: OpenStreamOptions): Promise<TunnelSocket> {
    const session = this.session;
    if (!session) throw this.unavailable();
    const releaseChannel = this.admission.reserveChannel(options.target);
    let channel;
    try {
      const opening = session.openChannel(host, port).catch((err: unknown) => {
        throw channelFailure(err, this.name, options.target);
      });
      channel = await withDeadline(opening, options, this.name, 'opening the SSH channel', (late) => late.stream.destroy());
    } finally {
      releaseChannel();
    }
    if (this.session !== session) {
      channel.stream.destroy();
      throw new TunnelClosedError(this.name, 'connection lost while the channel opened', { target: options.target });
    }
    const socket = new TunnelSocket(channel, {
      node: this.name,
      remoteAddress: host,
      remotePort: port,
      allowHalfOpen: options.allowHalfOpen,
    });
    this.admission.track(socket);
    return socket;
  }

  /**
   * Stops taking dials; open streams get `graceMs` to finish, then everything closes. Used when the
   * node leaves the inventory.
   */
  drain(graceMs: number): Promise<void> {
    this.draining = true;
    this.rejectWaiters(new TunnelUnavailableError(this.name, this.state, 'node is being removed'));
    if (this.admission.openStreams === 0) {
      this.shutdown('removed from inventory');
      return Promise.resolve();
    }
    this.log.info('draining tunnel', { openStreams: this.admission.openStreams, graceMs });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.shutdown('drain grace period over'), graceMs);
      this.on('stateChange', (change) => {
        if (change.to === TunnelState.SHUTDOWN) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  }

  /** Ends the tunnel for good: connection closed, open streams failed, waiting dials failed. */
  shutdown(why: string): void {
    if (this.state === TunnelState.SHUTDOWN) return;
    const error = new TunnelClosedError(this.name, why);
    this.clearTimers();
    this.attemptAbort?.abort(error);
    const session = this.session;
    this.session = undefined;
    this.transition([this.state], TunnelState.SHUTDOWN, undefined);
    this.admission.failAll(error);
    this.rejectWaiters(new TunnelUnavailableError(this.name, TunnelState.SHUTDOWN, why));
    session?.close();
  }

  status(): TunnelSnapshot {
    return {
      node: this.name,
      address: this.spec.address,
      sshPort: this.spec.sshPort,
      mode: this.mode,
      direction: this.session ? (this.session.agent ? 'reverse' : 'forward') : this.mode === 'reverse' ? 'reverse' : 'forward',
      agent: this.session?.agent,
      state: this.state,
      since: this.since.toISOString(),
      lastError: this.lastError && { code: this.lastError.code, message: this.lastError.message },
      attempts: this.attempts,
      nextRetryAt: this.nextRetryAt?.toISOString(),
      hostKeyFingerprint: this.hostKeyFingerprint,
      draining: this.draining,
      openStreams: this.admission.openStreams,
      connections: this.session?.connections ?? 0,
      inFlightBytes: this.session?.inFlightBytes ?? 0,
      ...this.admission.bytes,
    };
  }

  private startAttempt(): void {
    this.clearTimers();
    this.transition([TunnelState.IDLE, TunnelState.TRANSIENT_FAILURE], TunnelState.CONNECTING, undefined);
    const abort = new AbortController();
    this.attemptAbort = abort;
    const attempt = this.options.gate(async () => {
      // The slot may come free after the tunnel was shut down or moved on; then there is nothing to do.
      if (abort.signal.aborted) throw abort.signal.reason;
      return this.options.connector(this.spec, abort.signal);
    });
    attempt.then(
      (session) => {
        if (this.attemptAbort !== abort || this.state !== TunnelState.CONNECTING) {
          session.close(); // a late result after the state moved on is closed, not leaked
          return;
        }
        this.attemptAbort = undefined;
        this.onConnected(session);
      },
      (err: unknown) => {
        if (this.attemptAbort !== abort || this.state !== TunnelState.CONNECTING) return;
        this.attemptAbort = undefined;
        this.onAttemptFailed(asEgressError(err, this.name));
      },
    );
  }

  private onConnected(session: SshSession): void {
    this.hold(session);
    this.stableTimer = setTimeout(() => {
      this.attempts = 0;
    }, this.options.stableAfterMs);
    this.stableTimer.unref();
    this.transition([TunnelState.CONNECTING], TunnelState.READY, undefined);
    this.log.info('tunnel ready', { address: this.spec.address, hostKey: session.hostKeyFingerprint, ...(session.agent && { agent: session.agent }) });
    for (const waiter of this.takeWaiters()) waiter.resolve();
  }

  /** Makes `session` the one dials use; its end fails the tunnel only while it is still that one. */
  private hold(session: SshSession): void {
    this.session = session;
    this.hostKeyFingerprint = session.hostKeyFingerprint;
    session.onClose((err) => {
      if (this.session !== session) return;
      this.failConnection(new TunnelClosedError(this.name, err ? err.message : 'connection closed by the node', { cause: err }));
    });
  }

  /** The READY connection is gone: its streams fail now, and a reconnect is scheduled. */
  private failConnection(error: EgressError): void {
    const session = this.session;
    this.session = undefined;
    this.admission.failAll(error);
    session?.close();
    this.onAttemptFailed(error);
  }

  private onAttemptFailed(error: EgressError): void {
    this.clearTimers();
    this.attempts += 1;
    this.lastError = error;
    const delayMs = this.options.retryPolicy(this.attempts, error);
    this.transition([TunnelState.CONNECTING, TunnelState.READY], TunnelState.TRANSIENT_FAILURE, error);
    const level = isPermanentFailure(error) ? 'error' : 'warn';
    this.log.log(level, 'tunnel failed', { code: error.code, error: error.message, attempts: this.attempts, retryInMs: delayMs });
    this.rejectWaiters(this.unavailable());
    if (delayMs === null) return;
    this.nextRetryAt = new Date(Date.now() + delayMs);
    // Kept referenced: an open pool keeps the process alive, like a listening server, until close().
    this.retryTimer = setTimeout(() => this.startAttempt(), delayMs);
  }

  /** Fails at once when the tunnel cannot take dials now; an IDLE tunnel starts connecting. */
  private refuseUnlessUsable(): void {
    if (this.draining) throw new TunnelUnavailableError(this.name, this.state, 'node is being removed');
    switch (this.state) {
      case TunnelState.SHUTDOWN:
      case TunnelState.TRANSIENT_FAILURE:
        throw this.unavailable();
      case TunnelState.IDLE:
        this.connect();
        break;
      case TunnelState.CONNECTING:
        // A first attempt is worth waiting for; a retry after failures is not: fail fast like TRANSIENT_FAILURE.
        if (this.attempts > 0) throw this.unavailable();
        break;
      case TunnelState.READY:
        break;
    }
  }

  private waitUntilReady(options: OpenStreamOptions): Promise<void> {
    if (this.state === TunnelState.READY) return Promise.resolve();
    if (this.state !== TunnelState.CONNECTING) return Promise.reject(this.unavailable());
    let waiter: Waiter | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      waiter = { resolve, reject };
      this.waiters.add(waiter);
    });
    return withDeadline(ready, options, this.name, 'waiting for the SSH connection').finally(() => {
      if (waiter) this.waiters.delete(waiter);
    });
  }

  private unavailable(): TunnelUnavailableError {
    const why = this.lastError ? this.lastError.message : 'not connected';
    return new TunnelUnavailableError(this.name, this.state, why, { cause: this.lastError });
  }

  private takeWaiters(): Waiter[] {
    const waiters = [...this.waiters];
    this.waiters.clear();
    return waiters;
  }

  private rejectWaiters(error: EgressError): void {
    for (const waiter of this.takeWaiters()) waiter.reject(error);
  }

  private clearTimers(): void {
    clearTimeout(this.retryTimer);
    clearTimeout(this.stableTimer);
    this.retryTimer = undefined;
    this.stableTimer = undefined;
    this.nextRetryAt = undefined;
  }

  private transition(from: TunnelState[], to: TunnelState, error: EgressError | undefined): void {
    const prev = this.state;
    if (!from.includes(prev) || !isAllowedTransition(prev, to)) {
      throw new Error(`tunnel ${this.name}: illegal transition ${prev} -> ${to}`);
    }
    this.state = to;
    // "Since" is when the tunnel last became or stopped being usable: retries of a failing node keep it.
    if ((prev === TunnelState.READY) !== (to === TunnelState.READY) || to === TunnelState.SHUTDOWN) this.since = new Date();
    this.emit('stateChange', { node: this.name, from: prev, to, error });
  }
}

/**
 * A channel open that failed with something other than an EgressError: ssh2 throws a plain "Not connected"
 * when its socket has already ended but 'close' has not come yet. The connection is what is gone.
 */
function channelFailure(err: unknown, node: string, target: string): EgressError {
  if (err instanceof EgressError) return err;
  const why = err instanceof Error ? err.message : String(err);
  return new TunnelClosedError(node, `the SSH connection cannot open channels (${why})`, { target, cause: err });
}
