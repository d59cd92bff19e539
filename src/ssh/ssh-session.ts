import type { Duplex } from 'node:stream';
import type { NodeSpec } from '../nodes/node-spec.js';

/** A direct-tcpip channel and the write gate of the SSH connection that carries it. */
export interface SshChannel {
  readonly stream: Duplex;
  /**
   * Calls `proceed` once the carrying connection's outgoing buffer is below its limit. ssh2 ignores the
   * socket's backpressure, so streams ask here before they write: it bounds memory and shares the link fairly.
   * `room` is how many bytes the limits would still let through at that moment (undefined: not known).
   */
  whenWritable(proceed: (room?: number) => void): void;
}

/** An open SSH connection to one node (or a group of them), as a Tunnel uses it. ssh2 sits behind it; tests can fake it. */
export interface SshSession {
  /** SHA256 fingerprint of the host key the node presented and we verified. */
  readonly hostKeyFingerprint: string;
  /** Bytes waiting in the connection's socket to be sent: the queue a new stream's first bytes would join. */
  readonly queuedBytes: number;
  /** Channels open (or opening) on this connection. */
  readonly openChannels: number;
  /** SSH connections behind this session (more than one with connectionsPerNode). */
  readonly connections: number;
  /** Data the channels sent that the node has not acknowledged yet (see SendPacer), as last counted. */
  readonly inFlightBytes: number;
  /** Present when the session is a node agent's connection to us (a reverse tunnel): where the agent is. */
  readonly agent?: { remoteAddress: string; remotePort: number } | undefined;
  /**
   * Opens a direct-tcpip channel to host:port as seen from the node. Rejects with ChannelOpenError when
   * the node refuses, TunnelClosedError when the connection goes away first.
   */
  openChannel(host: string, port: number): Promise<SshChannel>;
  /** Ends the connection; `closed` fires afterwards. */
  close(): void;
  /** Registers the one listener told when the connection ends, with the reason when it was not asked to. */
  onClose(listener: (error: Error | undefined) => void): void;
}

/** Opens an SSH session to a node: TCP connect, handshake with host-key check, authentication. */
export type SshConnector = (node: NodeSpec, signal: AbortSignal) => Promise<SshSession>;
