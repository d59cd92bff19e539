import { Counter, Gauge, type Registry } from 'prom-client';
import type { AgentServer } from '../ssh/agent-server.js';
import type { AgentServerStats } from '../ssh/agent-server-stats.js';

/** Each counter of the agent listener, with its metric name (after the prefix) and help text. */
const AGENT_COUNTERS: ReadonlyArray<{ stat: keyof AgentServerStats; name: string; help: string }> = [
  { stat: 'connectionsAdmitted', name: 'agent_connections_total', help: 'Agent TCP connections taken in for a handshake.' },
  { stat: 'rejectedTotalLimit', name: 'agent_preauth_rejected_total_limit_total', help: 'Agent connections dropped before the handshake: too many unauthenticated in total.' },
  { stat: 'rejectedSourceLimit', name: 'agent_preauth_rejected_source_limit_total', help: 'Agent connections dropped before the handshake: too many unauthenticated from that address.' },
  { stat: 'authTimeouts', name: 'agent_auth_timeouts_total', help: 'Agent connections closed for not authenticating in time.' },
  { stat: 'authFailures', name: 'agent_auth_failures_total', help: 'Refused agent authentication attempts (unknown node, key not listed, bad certificate or signature).' },
  { stat: 'authAttemptsExceeded', name: 'agent_auth_attempts_exceeded_total', help: 'Agent connections closed after too many refused attempts.' },
  { stat: 'authSuccesses', name: 'agent_auth_successes_total', help: 'Agents authenticated.' },
  { stat: 'registrationTimeouts', name: 'agent_registration_timeouts_total', help: 'Authenticated agents closed for asking no reverse forward in time.' },
  { stat: 'registrations', name: 'agent_registrations_total', help: 'Agent registrations that answered SOCKS5 and were used.' },
  { stat: 'replacements', name: 'agent_replacements_total', help: 'Registrations that replaced an earlier one of the same node.' },
  { stat: 'misconfigured', name: 'agent_misconfigured_total', help: 'Registrations refused because they do not answer SOCKS5 (a static -R forward).' },
  { stat: 'refusedRequests', name: 'agent_refused_requests_total', help: 'Global requests agents made that were refused.' },
  { stat: 'refusedChannels', name: 'agent_refused_channels_total', help: 'Channels agents tried to open (session, direct-tcpip, ...), all refused.' },
];

/**
 * Exports the agent listener's counters and its current unauthenticated connections. The server's stats
 * only grow, so each scrape adds what grew since the last one.
 */
export function registerAgentMetrics(registry: Registry, prefix: string, server: AgentServer): void {
  const registers = [registry];
  const lastSeen = new Map<keyof AgentServerStats, number>();
  for (const { stat, name, help } of AGENT_COUNTERS) {
    new Counter({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        const now = server.stats[stat];
        this.inc(now - (lastSeen.get(stat) ?? 0));
        lastSeen.set(stat, now);
      },
    });
  }
  new Gauge({
    name: `${prefix}agent_unauthenticated_connections`,
    help: 'Agent connections not authenticated yet (bounded like sshd MaxStartups).',
    registers,
    collect() {
      this.set(server.unauthenticatedConnections);
    },
  });
  new Gauge({
    name: `${prefix}agent_registrations`,
    help: 'Nodes with an agent registered now.',
    registers,
    collect() {
      this.set(server.registrations().size);
    },
  });
}
