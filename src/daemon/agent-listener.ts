import { hostname } from 'node:os';
import type { ListenerSettings } from '../config/config-types.js';
import type { Logger } from '../log.js';
import { isUnspecifiedAddress } from '../net/address.js';
import { loadOrCreateAgentHostKey } from '../ssh/agent-host-key.js';
import { AgentServer } from '../ssh/agent-server.js';
import { loadTrustedUserCAs } from '../ssh/agent-user-ca.js';
import type { TunnelPool } from '../tunnel/pool.js';

type AgentListenerSettings = NonNullable<ListenerSettings['agents']>;

/**
 * Opens the listener node agents dial in to and attaches it to the pool. Logs the known_hosts line nodes
 * need (public key only), naming this host when the listener takes every address.
 */
export async function startAgentListener(settings: AgentListenerSettings, pool: TunnelPool, log: Logger): Promise<AgentServer> {
  const hostKey = await loadOrCreateAgentHostKey(settings.hostKeyFile);
  const userCAs = settings.userCAFile === undefined ? undefined : await loadTrustedUserCAs(settings.userCAFile);
  const server = new AgentServer({
    hostKey: hostKey.privateKey,
    lookupNode: pool.agentNode,
    ...(userCAs && { userCAs }),
    logger: log.child({ component: 'agents' }),
  });
  pool.attachAgentServer(server);
  const { port } = await server.listen(settings.port, settings.host);
  const host = isUnspecifiedAddress(settings.host) ? hostname() : settings.host;
  if (hostKey.created) log.warn('agent host key created: every node must trust it', { file: settings.hostKeyFile, fingerprint: hostKey.fingerprint });
  log.info('agent listener ready', {
    address: `${settings.host}:${port}`,
    fingerprint: hostKey.fingerprint,
    userCAs: userCAs?.map((ca) => ca.fingerprint) ?? [],
    knownHostsLine: `[${host}]:${port} ${hostKey.publicKeyLine}`,
  });
  return server;
}
