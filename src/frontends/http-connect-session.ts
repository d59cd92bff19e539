import type { Duplex } from 'node:stream';
import type { Dialer } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import { mapDialFailure } from './failure-mapping.js';
import { parseConnectHead } from './http-connect-request.js';
import { sendRefusal } from './http-connect-refusal.js';
import { CONNECTION_ESTABLISHED } from './http-connect-response.js';
import { splice } from './splice.js';

/** One CONNECT request's outcome, for metrics. */
export interface ConnectRequestEvent {
  /**
   * established: 200 sent, the stream is joined. failed: the dial failed (status from mapDialFailure).
   * rejected: the request itself was refused (400, 405, 408, 431, or a TLS handshake that failed).
   * abandoned: the client went away before an answer.
   */
  outcome: 'established' | 'failed' | 'rejected' | 'abandoned';
  /** The status sent, when one was. */
  status: number | undefined;
  /** "ok", the dial error's code, or what was wrong with the request: a bounded set, fit for a metric label. */
  reason: string;
  /** From accepting the client to the answer (or to giving up). */
  durationMs: number;
}

export interface ConnectSessionContext {
  dialer: Pick<Dialer, 'dial'>;
  log: Logger;
  headerTimeoutMs: number;
  maxHeaderBytes: number;
  dialTimeoutMs: number | undefined;
  report(event: ConnectRequestEvent): void;
}

/**
 * Serves one client connection: reads one CONNECT head, dials, answers, then splices the client to the
 * tunnel stream. Bytes the client sent after the head go into the tunnel first, in order.
 */
export function serveConnectClient(client: Duplex, ctx: ConnectSessionContext): void {
  const started = performance.now();
  let received: Buffer = Buffer.alloc(0);
  let reading = true;
  const report = (outcome: ConnectRequestEvent['outcome'], status: number | undefined, reason: string): void =>
    ctx.report({ outcome, status, reason, durationMs: performance.now() - started });

  // Errors always end in 'close'; splice() adds its own handling once joined.
  client.on('error', () => undefined);

  const stopReading = (): void => {
    reading = false;
    clearTimeout(headerTimer);
    client.off('data', onData);
    client.off('end', onEndWhileReading);
    client.off('close', onCloseWhileReading);
  };

  const refuse = (status: number, reason: string, label: string, outcome: 'failed' | 'rejected', headers?: Record<string, string>): void => {
    report(outcome, status, label);
    sendRefusal(client, status, reason, headers);
  };

  const onData = (chunk: Buffer): void => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const head = parseConnectHead(received, ctx.maxHeaderBytes);
    if (head.kind === 'incomplete') return;
    stopReading();
    if (head.kind === 'rejected') {
      if (ctx.log.isDebugEnabled()) ctx.log.debug('CONNECT request refused', { method: head.method, status: head.status, reason: head.reason });
      const label = { 400: 'malformed', 405: 'method', 431: 'header-too-large' }[head.status];
      refuse(head.status, head.reason, label, 'rejected', head.status === 405 ? { Allow: 'CONNECT' } : undefined);
      return;
    }
    // Hold further bytes in the socket until the tunnel is open; pipe() in splice() delivers them.
    client.pause();
    void connect(head.target, received.subarray(head.headBytes));
  };

  const onEndWhileReading = (): void => {
    stopReading();
    if (received.length === 0) {
      // Connected and left without a word: a port probe, not a request.
      report('abandoned', undefined, 'no-request');
      client.destroy();
    } else {
      refuse(400, 'connection closed before the request header was complete', 'incomplete', 'rejected');
    }
  };

  const onCloseWhileReading = (): void => {
    stopReading();
    report('abandoned', undefined, 'client-closed');
  };

  const headerTimer = setTimeout(() => {
    if (!reading) return;
    stopReading();
    refuse(408, `no complete request header within ${ctx.headerTimeoutMs} ms`, 'header-timeout', 'rejected');
  }, ctx.headerTimeoutMs);

  const connect = async (target: string, early: Buffer): Promise<void> => {
    const abort = new AbortController();
    const onGone = (): void => abort.abort();
    client.once('close', onGone);
    try {
      const tunnel = await ctx.dialer.dial(target, { signal: abort.signal, timeoutMs: ctx.dialTimeoutMs, allowHalfOpen: true });
      client.off('close', onGone);
      if (client.destroyed) {
        tunnel.destroy();
        report('abandoned', undefined, 'client-closed');
        return;
      }
      // Order matters: our 200 goes out before anything the tunnel sends, and early data before later data.
      client.write(CONNECTION_ESTABLISHED);
      if (early.length > 0) tunnel.write(early);
      report('established', 200, 'ok');
      // winston formats a message before its level filter drops it: skip that per dial.
      if (ctx.log.isDebugEnabled()) ctx.log.debug('CONNECT established', { target, node: tunnel.node });
      void splice(client, tunnel);
    } catch (err) {
      client.off('close', onGone);
      if (client.destroyed || abort.signal.aborted) {
        report('abandoned', undefined, 'client-closed');
        return;
      }
      const failure = mapDialFailure(err);
      ctx.log.info('CONNECT dial failed', { method: 'CONNECT', target, code: failure.reason, status: failure.httpStatus });
      const message = failure.reason === 'internal' ? 'internal error' : `${failure.reason}: ${(err as Error).message}`;
      refuse(failure.httpStatus, message, failure.reason, 'failed');
    }
  };

  client.on('data', onData);
  client.on('end', onEndWhileReading);
  client.on('close', onCloseWhileReading);
}
