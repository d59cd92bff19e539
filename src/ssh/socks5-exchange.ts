import type { Duplex } from 'node:stream';
import { SOCKS5_GREETING, parseConnectReply, parseMethodSelection, type SocksParse } from './socks5-client.js';

/**
 * Drives one SOCKS5 exchange inside an open channel: the greeting, and a CONNECT request when one is given,
 * written together (OpenSSH's dynamic forward reads them in turn from its buffer), then the answers. Bytes
 * past the last answer (a destination that speaks first) are put back for the stream's reader.
 */

export type SocksExchangeOutcome =
  | { kind: 'ok' }
  /** The agent answered, but refused the CONNECT with this reply code. */
  | { kind: 'refused'; reply: number }
  /** The channel ended before the answer that was due: `greeted` says whether the greeting was answered. */
  | { kind: 'closed'; greeted: boolean }
  /** What came back is not SOCKS5 without authentication: a static forward, or something else entirely. */
  | { kind: 'not-socks'; detail: string }
  | { kind: 'timeout'; greeted: boolean };

export function socks5Exchange(channel: Duplex, connectRequest: Buffer | undefined, timeoutMs: number): Promise<SocksExchangeOutcome> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    let greeted = false;
    let settled = false;
    const finish = (outcome: SocksExchangeOutcome, surplus?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Read in paused mode ('readable'), not with a 'data' listener: once ours is gone the channel is
      // as fresh as ssh2 handed it over, so whoever reads next (a 'data' listener, pipe) starts the flow,
      // and nothing is emitted to no one in between. The surplus goes back first.
      channel.off('readable', onReadable);
      channel.off('end', onEnd);
      channel.off('close', onEnd);
      channel.off('error', onEnd);
      if (surplus && surplus.length > 0) channel.unshift(surplus);
      resolve(outcome);
    };
    const step = <T>(parse: (buf: Buffer) => SocksParse<T>): { value: T } | 'wait' | 'done' => {
      const parsed = parse(received);
      if (parsed === undefined) return 'wait';
      if ('notSocks' in parsed) {
        finish({ kind: 'not-socks', detail: parsed.notSocks });
        return 'done';
      }
      received = received.subarray(parsed.consumed);
      return { value: parsed.value };
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!settled && (chunk = channel.read() as Buffer | null) !== null) consume(chunk);
    };
    const consume = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      if (!greeted) {
        const method = step(parseMethodSelection);
        if (typeof method !== 'object') return;
        if (method.value !== 0x00) {
          finish({ kind: 'not-socks', detail: `method ${method.value} chosen instead of "no authentication"` });
          return;
        }
        greeted = true;
        if (!connectRequest) {
          finish({ kind: 'ok' }, received);
          return;
        }
      }
      const reply = step(parseConnectReply);
      if (typeof reply !== 'object') return;
      finish(reply.value === 0x00 ? { kind: 'ok' } : { kind: 'refused', reply: reply.value }, received);
    };
    const onEnd = (): void => finish({ kind: 'closed', greeted });
    const timer = setTimeout(() => finish({ kind: 'timeout', greeted }), timeoutMs);
    channel.on('readable', onReadable);
    channel.once('end', onEnd);
    channel.once('close', onEnd);
    channel.once('error', onEnd);
    channel.write(connectRequest ? Buffer.concat([SOCKS5_GREETING, connectRequest]) : SOCKS5_GREETING);
  });
}
