import { fingerprintOf } from '../hostkeys/fingerprint.js';
import { parseAgentKey } from '../nodes/agent-key.js';
import type { AgentRegistration, AgentServer } from '../ssh/agent-server.js';
import type { ReverseSession } from '../ssh/reverse-session.js';

/**
 * The pool's view of the agent server attached to it: each node's current registration (while its
 * connection is open), and a way to wait for the next one (what an `auto` tunnel's attempt races its dial
 * against). Without an attached server there are simply no registrations.
 */
export class AgentSessions {
  private server: AgentServer | undefined;
  private onRegistration: ((registration: AgentRegistration) => void) | undefined;
  private readonly waiters = new Map<string, Set<(session: ReverseSession) => void>>();
  private readonly listener = (registration: AgentRegistration): void => this.registered(registration);

  get attached(): boolean {
    return this.server !== undefined;
  }

  /** Starts following `server`'s registrations; `onRegistration` runs after waiting attempts took theirs. */
  attach(server: AgentServer, onRegistration: (registration: AgentRegistration) => void): void {
    if (this.server) throw new Error('an agent server is already attached to this pool');
    this.server = server;
    this.onRegistration = onRegistration;
    server.on('registration', this.listener);
  }

  detach(): void {
    this.server?.off('registration', this.listener);
    this.server = undefined;
    for (const [, waiting] of this.waiters) waiting.clear();
    this.waiters.clear();
  }

  /** The node's registration, when its connection is open and not being closed. */
  registration(node: string): AgentRegistration | undefined {
    const registration = this.server?.registrations().get(node);
    return registration?.session.isOpen ? registration : undefined;
  }

  current(node: string): ReverseSession | undefined {
    return this.registration(node)?.session;
  }

  /**
   * Closes the node's registration when the agent key it was accepted with is no longer among `agentKeys`
   * (a reload removed it), as the key would be refused now. A certificate's registration is left to its CA.
   * True when it closed one.
   */
  closeUnlisted(node: string, agentKeys: readonly string[]): boolean {
    const registration = this.registration(node);
    if (!registration || registration.via !== 'agent key') return false;
    const listed = agentKeys.some((line) => {
      const key = parseAgentKey(line);
      return key !== undefined && fingerprintOf(key.getPublicSSH()) === registration.fingerprint;
    });
    if (listed) return false;
    registration.session.close();
    return true;
  }

  /** The node's next registration; rejects with the signal's reason when it aborts first. */
  next(node: string, signal: AbortSignal): Promise<ReverseSession> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const waiting = this.waiters.get(node) ?? new Set();
      this.waiters.set(node, waiting);
      const take = (session: ReverseSession): void => {
        signal.removeEventListener('abort', onAbort);
        resolve(session);
      };
      const onAbort = (): void => {
        waiting.delete(take);
        reject(signal.reason as Error);
      };
      waiting.add(take);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private registered(registration: AgentRegistration): void {
    const waiting = this.waiters.get(registration.node);
    this.waiters.delete(registration.node);
    for (const take of waiting ?? []) take(registration.session);
    this.onRegistration?.(registration);
  }
}
