import { hostname } from 'node:os';
import type { ListenerSettings, SshSettings } from '../config/config-types.js';
import type { Logger } from '../log.js';
import { isUnspecifiedAddress } from '../net/address.js';
import { loadOrCreateAgentHostKey } from '../ssh/agent-host-key.js';
import { AgentServer, type AgentServerOptions } from '../ssh/agent-server.js';
import { loadTrustedUserCAs, type TrustedUserCA } from '../ssh/agent-user-ca.js';
import type { TunnelPool } from '../tunnel/pool.js';

type AgentListenerSettings = NonNullable<ListenerSettings['agents']>;

/** The CAs of the user CA file, read at start and at every reload (a rotated file applies without a restart). */
export function readAgentUserCAs(settings: AgentListenerSettings): Promise<TrustedUserCA[] | undefined> {
  return settings.userCAFile === undefined ? Promise.resolve(undefined) : loadTrustedUserCAs(settings.userCAFile);
}

/**
 * The config's SSH keepalive applies to agent connections too: a frozen or cut-off agent (no FIN ever
 * comes) is found within the same bound as a dead forward tunnel, not at the listener's built-in default.
 */
export function agentKeepalive(ssh: Pick<SshSettings, 'keepaliveIntervalMs' | 'keepaliveCountMax'>): Pick<AgentServerOptions, 'keepaliveIntervalMs' | 'keepaliveCountMax'> {
  return {
    ...(ssh.keepaliveIntervalMs !== undefined && { keepaliveIntervalMs: ssh.keepaliveIntervalMs }),
    ...(ssh.keepaliveCountMax !== undefined && { keepaliveCountMax: ssh.keepaliveCountMax }),
  };
}

/**
 * Opens the listener node agents dial in to and attaches it to the pool. Logs the known_hosts line nodes
 * need (public key only), naming this host when the listener takes every address.
 */
export async function startAgentListener(
  settings: AgentListenerSettings,
  ssh: SshSettings,
  pool: TunnelPool,
  log: Logger,
  userCAs: TrustedUserCA[] | undefined,
): Promise<AgentServer> {
  const hostKey = await loadOrCreateAgentHostKey(settings.hostKeyFile);
  const server = new AgentServer({
    hostKey: hostKey.privateKey,
    lookupNode: pool.agentNode,
    ...agentKeepalive(ssh),
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
