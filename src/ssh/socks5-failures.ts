import { ChannelOpenError, DialTimeoutError } from '../errors.js';
import { AgentMisconfiguredError } from './agent-errors.js';
import { SOCKS5_NOT_ALLOWED, SOCKS5_REPLY_TEXT } from './socks5-client.js';
import type { SocksExchangeOutcome } from './socks5-exchange.js';

/**
 * A failed SOCKS5 exchange inside a reverse-tunnel channel, as the errors the forward path raises for the
 * same failures, so everything above the tunnel (status mapping, metrics, retries) needs no second table.
 */

/** SSH channel-open reasons (RFC 4254 5.1) that SOCKS5 answers map onto. */
const PROHIBITED = 1;
const CONNECT_FAILED = 2;

type Failed = Exclude<SocksExchangeOutcome, { kind: 'ok' }>;

/** Why a dial's CONNECT failed, with the agent's connection still up. */
export function socksFailureError(node: string, target: string, outcome: Failed, timeoutMs: number): Error {
  switch (outcome.kind) {
    case 'refused': {
      const text = SOCKS5_REPLY_TEXT[outcome.reply] ?? `SOCKS5 reply ${outcome.reply}`;
      return new ChannelOpenError(node, target, outcome.reply === SOCKS5_NOT_ALLOWED ? PROHIBITED : CONNECT_FAILED, text);
    }
    case 'closed':
      // OpenSSH answers the greeting, then closes the channel without a reply when its connect fails or
      // PermitRemoteOpen forbids the destination: it cannot tell us which.
      return outcome.greeted
        ? new ChannelOpenError(node, target, CONNECT_FAILED, 'the agent closed the channel without a SOCKS5 reply: the node could not connect, or may not (PermitRemoteOpen)')
        : new AgentMisconfiguredError(node, 'the channel closed before the SOCKS5 greeting was answered');
    case 'timeout':
      return new DialTimeoutError(target, timeoutMs, outcome.greeted ? 'SOCKS5 reply from the agent' : 'SOCKS5 greeting from the agent', { node });
    case 'not-socks':
      return new AgentMisconfiguredError(node, `its forward does not speak SOCKS5 (${outcome.detail})`);
  }
}

/** Why a registration's SOCKS5 probe (the greeting alone) failed. */
export function describeFailedProbe(outcome: Failed, timeoutMs: number): string {
  switch (outcome.kind) {
    case 'not-socks':
      return `its forward does not speak SOCKS5 (${outcome.detail})`;
    case 'timeout':
      return `no SOCKS5 answer within ${timeoutMs} ms`;
    default:
      return 'its forward closed the channel without a SOCKS5 answer';
  }
}
