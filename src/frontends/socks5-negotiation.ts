// The server side of a SOCKS5 handshake as a pure state machine: bytes in, bytes to send and an outcome
// out. No sockets here, so every split of the input (down to one byte at a time) is easy to test.
import {
  METHOD,
  SOCKS4_REJECTED,
  encodeAuthStatus,
  encodeMethodSelection,
  encodeReply,
  isFailure,
  parseCredentials,
  parseGreeting,
  parseRequest,
  type ConnectRequest,
  type Parsed,
} from './socks5-protocol.js';

export interface NegotiationOptions {
  /** When set, RFC 1929 username/password is required and checked with it; otherwise no auth is offered. */
  authenticate?: (username: string, password: string) => boolean;
}

export type NegotiationOutcome =
  | { state: 'pending' }
  /** Send `output`, then close. `username` is set when the failure came after (or during) auth. */
  | { state: 'failed'; reason: string; username?: string }
  /** Dial `request`; `rest` holds bytes the client already sent for the destination (pipelined). */
  | { state: 'connect'; request: ConnectRequest; rest: Buffer; username?: string };

export interface NegotiationStep {
  /** Bytes to write to the client, in order. */
  output: Buffer[];
  outcome: NegotiationOutcome;
}

type Phase = 'greeting' | 'auth' | 'request' | 'done';

export class Socks5Negotiation {
  private phase: Phase = 'greeting';
  private buffered: Buffer = Buffer.alloc(0);
  private username: string | undefined;

  constructor(private readonly options: NegotiationOptions = {}) {}

  /** Feeds the next bytes from the client. After a 'failed' or 'connect' outcome, further input is an error. */
  feed(chunk: Buffer): NegotiationStep {
    if (this.phase === 'done') throw new Error('SOCKS5 negotiation already finished');
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const output: Buffer[] = [];
    // A client may send several messages at once (greeting and request together): run until bytes run out.
    for (;;) {
      const outcome = this.step(output);
      if (outcome !== undefined) return { output, outcome };
    }
  }

  /** One message if complete; undefined to go on with the next phase, or an outcome to return. */
  private step(output: Buffer[]): NegotiationOutcome | undefined {
    switch (this.phase) {
      case 'greeting': {
        const parsed = parseGreeting(this.buffered);
        if (parsed === undefined) return { state: 'pending' };
        if (isFailure(parsed)) {
          if (this.buffered[0] === 0x04) output.push(SOCKS4_REJECTED);
          return this.fail(parsed.failure);
        }
        this.consume(parsed);
        const wanted = this.options.authenticate ? METHOD.USERNAME_PASSWORD : METHOD.NO_AUTH;
        if (!parsed.value.methods.includes(wanted)) {
          output.push(encodeMethodSelection(METHOD.NO_ACCEPTABLE));
          const offered = parsed.value.methods.map((m) => `0x${m.toString(16).padStart(2, '0')}`).join(', ') || 'none';
          return this.fail(`no acceptable auth method: ${wanted === METHOD.NO_AUTH ? 'no-auth' : 'username/password'} needed, client offered ${offered}`);
        }
        output.push(encodeMethodSelection(wanted));
        this.phase = wanted === METHOD.USERNAME_PASSWORD ? 'auth' : 'request';
        return undefined;
      }
      case 'auth': {
        const parsed = parseCredentials(this.buffered);
        if (parsed === undefined) return { state: 'pending' };
        if (isFailure(parsed)) {
          output.push(encodeAuthStatus(false));
          return this.fail(parsed.failure);
        }
        this.consume(parsed);
        const { username, password } = parsed.value;
        this.username = username;
        const ok = this.options.authenticate?.(username, password) ?? false;
        output.push(encodeAuthStatus(ok));
        if (!ok) return this.fail('username/password refused');
        this.phase = 'request';
        return undefined;
      }
      case 'request': {
        const parsed = parseRequest(this.buffered);
        if (parsed === undefined) return { state: 'pending' };
        if (isFailure(parsed)) {
          if (parsed.reply !== undefined) output.push(encodeReply(parsed.reply));
          return this.fail(parsed.failure);
        }
        this.consume(parsed);
        this.phase = 'done';
        const rest = this.buffered;
        this.buffered = Buffer.alloc(0);
        return { state: 'connect', request: parsed.value, rest, ...this.who() };
      }
      case 'done':
        return { state: 'pending' };
    }
  }

  private consume(parsed: Exclude<Parsed<unknown>, undefined>): void {
    if ('consumed' in parsed) this.buffered = this.buffered.subarray(parsed.consumed);
  }

  private fail(reason: string): NegotiationOutcome {
    this.phase = 'done';
    this.buffered = Buffer.alloc(0);
    return { state: 'failed', reason, ...this.who() };
  }

  private who(): { username?: string } {
    return this.username === undefined ? {} : { username: this.username };
  }
}
