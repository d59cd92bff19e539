/** A forwarded-tcpip channel from the daemon, served as a SOCKS5 server (no authentication, CONNECT only). */
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { SOCKS_REPLY } from '../frontends/failure-mapping.js';
import { Socks5Negotiation } from '../frontends/socks5-negotiation.js';
import { encodeReply } from '../frontends/socks5-protocol.js';
import { splice } from '../frontends/splice.js';
import type { AllowPolicy } from './allow-policy.js';
import { connectDestination } from './destination-connect.js';

export interface ChannelContext {
  policy: AllowPolicy;
  dialTimeoutMs: number;
  logger: Logger;
  /** Log fields naming the server connection the channel came on. */
  fields: Record<string, string>;
}

/**
 * Negotiates, checks and connects, then splices the channel to the destination with half-close kept both
 * ways. A channel that closes during the greeting is the daemon's SOCKS5 probe: nothing to log.
 */
export function serveSocks5Channel(channel: Duplex, context: ChannelContext): void {
  const negotiation = new Socks5Negotiation();
  let closed = false;
  channel.on('error', () => undefined); // the end of the connection is reported by the connection
  channel.once('close', () => (closed = true));
  const onData = (chunk: Buffer): void => {
    const step = negotiation.feed(chunk);
    for (const bytes of step.output) channel.write(bytes);
    const { outcome } = step;
    if (outcome.state === 'pending') return;
    channel.off('data', onData);
    // Whatever comes next stays in the channel until the destination can take it.
    channel.pause();
    if (outcome.state === 'failed') {
      context.logger.warn('SOCKS5 request refused', { ...context.fields, reason: outcome.reason });
      refuse(channel, undefined);
      return;
    }
    const { host, port } = outcome.request;
    void connectDestination(host, port, context.policy, context.dialTimeoutMs).then((result) => {
      if (!result.ok) {
        const level = result.reply === SOCKS_REPLY.NOT_ALLOWED ? 'warn' : 'info';
        context.logger.log(level, 'connect refused', { ...context.fields, destination: `${host}:${port}`, reply: result.reply, reason: result.reason });
        refuse(channel, encodeReply(result.reply));
        return;
      }
      if (closed) {
        result.socket.destroy();
        return;
      }
      context.logger.debug('connected', { ...context.fields, destination: `${host}:${port}`, address: result.address });
      channel.write(encodeReply(SOCKS_REPLY.SUCCEEDED));
      if (outcome.rest.length > 0) result.socket.write(outcome.rest);
      closeWhenDone(channel);
      void splice(result.socket, channel);
    });
  };
  channel.on('data', onData);
}

/** Answers (when a reply is due) and closes; whatever else the daemon sends is dropped. */
function refuse(channel: Duplex, reply: Buffer | undefined): void {
  channel.resume();
  channel.end(reply);
  channel.once('finish', () => closeChannel(channel));
}

/**
 * ssh2 sends only EOF when a client-side channel's writing ends, and nothing closes the channel once both
 * sides have sent EOF: close it then, so it does not stay open (and counted by the daemon) forever. Data
 * still waiting for window is written before 'finish', so nothing is cut short.
 */
function closeWhenDone(channel: Duplex): void {
  let finished = false;
  let ended = false;
  channel.once('finish', () => {
    finished = true;
    if (ended) closeChannel(channel);
  });
  channel.once('end', () => {
    ended = true;
    if (finished) closeChannel(channel);
  });
}

/** ssh2's close(): sends CHANNEL_CLOSE (destroy() would also end the writing side). */
function closeChannel(channel: Duplex): void {
  (channel as Duplex & { close?: () => void }).close?.();
}
