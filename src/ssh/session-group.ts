import type { SshChannel, SshConnector, SshSession } from './ssh-session.js';

/**
 * Several SSH connections to one node that act as one session: sshd handles each connection in its own
 * process, so two of them spread its encryption over two cores, and a new stream can avoid the connection
 * whose socket is full of another stream's upload. They live and die together: when one closes, the others
 * are closed and the tunnel reconnects them all, so a tunnel is READY only with every connection up.
 */
export class SessionGroup implements SshSession {
  private listener: ((error: Error | undefined) => void) | undefined;
  private ended = false;

  constructor(private readonly members: readonly SshSession[]) {
    if (members.length === 0) throw new Error('a session group needs at least one session');
    for (const member of members) member.onClose((error) => this.memberClosed(member, error));
  }

  get hostKeyFingerprint(): string {
    return this.members[0]!.hostKeyFingerprint;
  }

  get queuedBytes(): number {
    return this.members.reduce((sum, m) => sum + m.queuedBytes, 0);
  }

  get openChannels(): number {
    return this.members.reduce((sum, m) => sum + m.openChannels, 0);
  }

  get connections(): number {
    return this.members.reduce((sum, m) => sum + m.connections, 0);
  }

  get inFlightBytes(): number {
    return this.members.reduce((sum, m) => sum + m.inFlightBytes, 0);
  }

  openChannel(host: string, port: number): Promise<SshChannel> {
    return this.leastLoaded().openChannel(host, port);
  }

  close(): void {
    for (const member of this.members) member.close();
  }

  onClose(listener: (error: Error | undefined) => void): void {
    this.listener = listener;
  }

  /** The connection with the least data queued to send (a new stream's bytes wait behind it), then the fewest channels. */
  private leastLoaded(): SshSession {
    let best = this.members[0]!;
    for (const member of this.members) {
      const queued = member.queuedBytes - best.queuedBytes;
      if (queued < 0 || (queued === 0 && member.openChannels < best.openChannels)) best = member;
    }
    return best;
  }

  private memberClosed(member: SshSession, error: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    for (const other of this.members) if (other !== member) other.close();
    this.listener?.(error);
  }
}

/**
 * Wraps a connector so that each attempt opens `count` connections to the node. The first connects alone
 * (a trust-on-first-use record is written once, and a node that refuses us is found with one handshake);
 * the rest follow together. Any failure closes what was opened and fails the attempt.
 */
export function connectionGroup(connect: SshConnector, count: number): SshConnector {
  if (count === 1) return connect;
  return async (node, signal) => {
    const first = await connect(node, signal);
    const rest = await Promise.allSettled(Array.from({ length: count - 1 }, () => connect(node, signal)));
    const opened = [first, ...rest.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))];
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      for (const session of opened) session.close();
      throw failed.reason;
    }
    return new SessionGroup(opened);
  };
}
