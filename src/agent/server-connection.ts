/** The agent's connection to one daemon address, kept up on its own: reconnects with backoff and jitter. */
import { setTimeout as sleep } from 'node:timers/promises';
import type ssh2 from 'ssh2';
import type { Logger } from '../log.js';
import { DEFAULT_BACKOFF, exponentialBackoff, type BackoffOptions, type RetryPolicy } from '../timing/backoff.js';
import { ServerConnectionError } from './agent-errors.js';
import type { AllowPolicy } from './allow-policy.js';
import type { ServerAddress } from './server-address.js';
import { connectToServer, type HandshakeOptions, type ServerSession } from './server-handshake.js';
import { serveSocks5Channel } from './socks5-channel.js';

export interface ServerConnectionOptions extends HandshakeOptions {
  policy: AllowPolicy;
  dialTimeoutMs: number;
  stableAfterMs: number;
  backoff: BackoffOptions;
  logger: Logger;
}

export type ServerConnectionState = 'connecting' | 'registered' | 'waiting' | 'stopped';

/** Waits after a failure; one that only a change fixes (key refused, host key not trusted) waits the long delay. */
export function agentRetryPolicy(backoff: BackoffOptions): RetryPolicy {
  const options = { ...DEFAULT_BACKOFF, ...backoff };
  const policy = exponentialBackoff(options);
  return (attempt, error) => (error instanceof ServerConnectionError && error.needsAFix ? options.permanentFailureDelayMs : policy(attempt, error));
}

export class ServerConnection {
  private current: ServerSession | undefined;
  private status: ServerConnectionState = 'connecting';
  private readonly stopper = new AbortController();
  private readonly retry: RetryPolicy;
  private readonly fields: Record<string, string>;
  private readonly finished: Promise<void>;

  constructor(
    readonly server: ServerAddress,
    readonly address: string,
    private readonly options: ServerConnectionOptions,
  ) {
    this.retry = agentRetryPolicy(options.backoff);
    this.fields = address === server.host ? { server: server.text } : { server: server.text, address };
    this.finished = this.run();
  }

  get state(): ServerConnectionState {
    return this.status;
  }

  /** Ends the connection (the daemon sees the agent leave) and the reconnect loop. */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.current?.client.end();
    await this.finished;
  }

  private async run(): Promise<void> {
    const signal = this.stopper.signal;
    let attempt = 0;
    while (!signal.aborted) {
      this.status = 'connecting';
      let failure: unknown;
      try {
        const session = await connectToServer(this.server, this.address, this.options, (accept) => this.serve(accept), signal);
        const upAt = Date.now();
        failure = await this.hold(session);
        if (Date.now() - upAt >= this.options.stableAfterMs) attempt = 0;
      } catch (err) {
        failure = err;
      }
      if (signal.aborted) break;
      attempt += 1;
      const delayMs = this.retry(attempt, failure) ?? DEFAULT_BACKOFF.maxDelayMs;
      this.status = 'waiting';
      this.logFailure(failure, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => undefined);
    }
    this.status = 'stopped';
  }

  /** Registered until the connection closes; resolves with why it closed. */
  private hold(session: ServerSession): Promise<unknown> {
    this.current = session;
    this.status = 'registered';
    const { client } = session;
    this.options.logger.info('connected to server, reverse forward registered', { ...this.fields, hostKey: session.hostKeyFingerprint });
    return new Promise((resolve) => {
      let lastError: (Error & { level?: string }) | undefined;
      client.on('error', (err: Error & { level?: string }) => {
        lastError = err;
        // ssh2's keepalive gives up with end(), which waits for a FIN a dead server never sends.
        if (err.level === 'client-timeout') (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
      });
      client.once('close', () => {
        this.current = undefined;
        if (this.stopper.signal.aborted) this.options.logger.info('disconnected from server (stopping)', this.fields);
        const why = lastError?.level === 'client-timeout' ? `no answer to ${this.options.keepaliveCountMax} keepalives` : lastError?.message ?? 'closed by the server';
        resolve(new ServerConnectionError('ERR_TUNNEL_CLOSED', this.server.text, `connection lost: ${why}`, lastError));
      });
    });
  }

  private serve(accept: () => ssh2.ClientChannel): void {
    if (this.stopper.signal.aborted) return;
    serveSocks5Channel(accept(), { policy: this.options.policy, dialTimeoutMs: this.options.dialTimeoutMs, logger: this.options.logger, fields: this.fields });
  }

  private logFailure(failure: unknown, delayMs: number): void {
    const error = failure instanceof Error ? failure.message : String(failure);
    const fix = failure instanceof ServerConnectionError && failure.needsAFix;
    this.options.logger.log(fix ? 'error' : 'warn', fix ? 'server refused: fix and wait, or restart the agent' : 'server connection down', {
      ...this.fields,
      error,
      retryInMs: delayMs,
    });
  }
}
