/** `ssh-egress agent`: the node side of reverse tunnels, connected to every daemon replica at once. */
import { KnownHosts } from '../hostkeys/known-hosts.js';
import { loadPrivateKey } from '../hostkeys/private-key.js';
import { silentLogger, type Logger } from '../log.js';
import { parseOptions } from '../options/parse-options.js';
import { DEFAULT_BACKOFF } from '../timing/backoff.js';
import { AGENT_BACKOFF_DEFAULTS, NODE_AGENT_DEFAULTS, nodeAgentOptionsSchema, type NodeAgentOptions, type ResolvedNodeAgentOptions } from './agent-options.js';
import { createAllowPolicy, type AllowPolicy } from './allow-policy.js';
import { parseServerAddress, resolveServer, type ServerAddress } from './server-address.js';
import { ServerConnection, type ServerConnectionOptions } from './server-connection.js';

/** A name that resolved to nothing is looked up again this soon, not a whole resolveIntervalMs later. */
const RETRY_FAILED_LOOKUP_MS = 2_000;

/**
 * Keeps one connection to every address of every server given, each independent of the others, and
 * follows DNS: an address that appears gets a connection, one that disappears loses it. Each connection
 * serves the daemon's channels as SOCKS5 under one allow policy.
 */
export class NodeAgent {
  readonly policy: AllowPolicy;
  private readonly logger: Logger;
  private readonly servers: ServerAddress[];
  /** Keyed by "<server> <address>". */
  private readonly links = new Map<string, ServerConnection>();
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  private constructor(
    private readonly options: ResolvedNodeAgentOptions,
    private readonly connectionOptions: ServerConnectionOptions,
  ) {
    this.logger = connectionOptions.logger;
    this.policy = connectionOptions.policy;
    // The schema accepted every server, so each parses.
    this.servers = options.servers.map((text) => parseServerAddress(text)!);
  }

  /** Validates the options (ConfigError), loads the key (KeyError) and known_hosts (KnownHostsError), then connects. */
  static async start(options: NodeAgentOptions): Promise<NodeAgent> {
    const valid = parseOptions(nodeAgentOptionsSchema, options);
    const resolved: ResolvedNodeAgentOptions = { ...NODE_AGENT_DEFAULTS, ...valid };
    const { key } = await loadPrivateKey({ identityFile: resolved.identityFile });
    const knownHosts = await KnownHosts.load(resolved.knownHostsFile);
    const logger = resolved.logger ?? silentLogger();
    for (const warning of knownHosts.warnings) logger.warn(warning);
    const policy = createAllowPolicy({ allow: resolved.allow, podCIDRs: resolved.podCIDRs, serviceCIDRs: resolved.serviceCIDRs });
    const agent = new NodeAgent(resolved, {
      nodeName: resolved.nodeName,
      privateKey: key,
      knownHostsFile: resolved.knownHostsFile,
      connectTimeoutMs: resolved.connectTimeoutMs,
      handshakeTimeoutMs: resolved.handshakeTimeoutMs,
      keepaliveIntervalMs: resolved.keepaliveIntervalMs,
      keepaliveCountMax: resolved.keepaliveCountMax,
      policy,
      dialTimeoutMs: resolved.dialTimeoutMs,
      stableAfterMs: resolved.stableAfterMs,
      backoff: { ...DEFAULT_BACKOFF, ...AGENT_BACKOFF_DEFAULTS, ...resolved.backoff },
      logger,
    });
    logger.info('agent starting', { node: resolved.nodeName, servers: resolved.servers, allow: policy.description });
    await agent.refresh();
    return agent;
  }

  /** Every connection, one per server address: its state says whether that daemon has this node registered. */
  connections(): ServerConnection[] {
    return [...this.links.values()];
  }

  /** Closes every connection; the daemons see this node's agent leave. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.refreshTimer);
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((link) => link.stop()));
    this.logger.info('agent stopped', { node: this.options.nodeName });
  }

  /** Looks every server up again and starts or stops connections to match. */
  private async refresh(): Promise<void> {
    let failed = false;
    const wanted = new Map<string, { server: ServerAddress; address: string }>();
    const kept = new Set<string>();
    await Promise.all(
      this.servers.map(async (server) => {
        try {
          for (const address of await resolveServer(server)) wanted.set(`${server.text} ${address}`, { server, address });
        } catch (err) {
          failed = true;
          // Keep what this server has: a failed lookup is no news about its replicas.
          for (const [key, link] of this.links) if (link.server === server) kept.add(key);
          this.logger.warn('cannot resolve server', { server: server.text, error: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
        }
      }),
    );
    if (this.stopped) return;
    for (const [key, link] of this.links) {
      if (wanted.has(key) || kept.has(key)) continue;
      this.links.delete(key);
      this.logger.info('server address gone from DNS: disconnecting', { server: link.server.text, address: link.address });
      void link.stop();
    }
    for (const [key, { server, address }] of wanted) {
      if (this.links.has(key)) continue;
      this.links.set(key, new ServerConnection(server, address, this.connectionOptions));
    }
    const delayMs = failed ? Math.min(RETRY_FAILED_LOOKUP_MS, this.options.resolveIntervalMs) : this.options.resolveIntervalMs;
    this.refreshTimer = setTimeout(() => void this.refresh(), delayMs);
    this.refreshTimer.unref();
  }
}
