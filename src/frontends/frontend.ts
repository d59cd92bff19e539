import type { ConnectionLimits } from './limits-connections.js';

/** What a reload changes on a front end that keeps listening. */
export interface FrontendSettings extends ConnectionLimits {
  /** Budget for each dial; undefined: the dialer's own. */
  dialTimeoutMs?: number | undefined;
}

/** A listener that accepts proxy clients (HTTP CONNECT, SOCKS5) and joins them to tunnel streams. */
export interface Frontend {
  /** For logs and status, e.g. "connect-uds /run/ssh-egress/egress.sock". */
  readonly name: string;
  /** Starts listening; rejects when the address cannot be used. */
  listen(): Promise<void>;
  /** Stops accepting new clients; resolves once the listener is closed. Open streams go on. */
  stopAccepting(): Promise<void>;
  /** Destroys every open client connection (end of a drain). */
  destroyAll(): void;
  /** New limits and dial budget (a reload): clients from now on get them; open ones are not cut. */
  reconfigure(settings: FrontendSettings): void;
  /** Client connections currently open (handshaking or streaming). */
  readonly openConnections: number;
}
