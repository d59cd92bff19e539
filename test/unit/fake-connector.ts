import { PassThrough } from 'node:stream';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import type { SshChannel, SshConnector, SshSession } from '../../src/ssh/ssh-session.js';

/** A session whose connection the test drops at will; channels are in-memory pipes. */
export class FakeSession implements SshSession {
  readonly hostKeyFingerprint = 'SHA256:fake';
  closed = false;
  readonly channels: PassThrough[] = [];
  private listener: ((error: Error | undefined) => void) | undefined;

  /** What the tests set to steer a group's placement. */
  queuedBytes = 0;
  readonly connections = 1;
  inFlightBytes = 0;

  get openChannels(): number {
    return this.channels.filter((c) => !c.destroyed).length;
  }

  openChannel(): Promise<SshChannel> {
    const channel = new PassThrough();
    this.channels.push(channel);
    return Promise.resolve({ stream: channel, whenWritable: (proceed) => proceed() });
  }

  close(): void {
    this.closed = true;
  }

  onClose(listener: (error: Error | undefined) => void): void {
    this.listener = listener;
  }

  /** The node went away (sshd killed, network cut). */
  drop(error = new Error('connection reset')): void {
    this.listener?.(error);
  }
}

export interface PendingAttempt {
  node: NodeSpec;
  signal: AbortSignal;
  succeed(): FakeSession;
  fail(error: Error): void;
}

/** A connector whose attempts wait until the test settles them, so state sequences are exact. */
export function fakeConnector(): { connector: SshConnector; attempts: PendingAttempt[]; inFlight: () => number; maxInFlight: () => number } {
  const attempts: PendingAttempt[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const connector: SshConnector = (node, signal) =>
    new Promise((resolve, reject) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      attempts.push({
        node,
        signal,
        succeed() {
          inFlight -= 1;
          const session = new FakeSession();
          resolve(session);
          return session;
        },
        fail(error) {
          inFlight -= 1;
          reject(error);
        },
      });
    });
  return { connector, attempts, inFlight: () => inFlight, maxInFlight: () => maxInFlight };
}

export function node(name: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name,
    address: `198.18.0.${10 + Number(name.replace(/\D/g, '') || 0)}`,
    aliases: [],
    sshPort: 22,
    kubeletPort: 10250,
    podCIDRs: [],
    hostKeyFingerprints: [],
    labels: {},
    ...extra,
  };
}

/** Waits for queued promise callbacks (connector results, gate slots) to run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
