import { NoAgentConnectedError } from '../errors.js';
import type { SshConnector, SshSession } from '../ssh/ssh-session.js';
import type { AgentSessions } from './agent-sessions.js';

/**
 * A `reverse` node's connector: it never dials. It hands out the node's current agent registration or
 * fails at once with NoAgentConnectedError; the pool calls tunnel.connect() when an agent registers.
 */
export function reverseConnector(agents: AgentSessions): SshConnector {
  return async (node) => {
    const session = agents.current(node.name);
    if (!session) throw new NoAgentConnectedError(node.name);
    return session;
  };
}

/**
 * An `auto` node's connector: the agent's registration when there is one; otherwise it dials and, at the
 * same time, waits for an agent, and takes whichever connection comes first (a node whose sshd cannot be
 * reached would otherwise keep its agent waiting for the dial's timeout). The loser is closed or abandoned.
 */
export function autoConnector(dial: SshConnector, agents: AgentSessions): SshConnector {
  return async (node, signal) => {
    const present = agents.current(node.name);
    if (present) return present;
    const both = new AbortController();
    const abortBoth = (): void => both.abort(signal.reason);
    signal.addEventListener('abort', abortBoth, { once: true });
    const dialled = dial(node, both.signal);
    const registered = agents.next(node.name, both.signal);
    let winner: SshSession | undefined;
    try {
      winner = await Promise.race([dialled, registered]);
      return winner;
    } finally {
      signal.removeEventListener('abort', abortBoth);
      both.abort(new Error('the other connection came first'));
      // A dial that completes after the agent won is closed, not leaked; the registration stays with the server.
      dialled.then((session) => session !== winner && session.close(), () => undefined);
      registered.catch(() => undefined);
    }
  };
}
