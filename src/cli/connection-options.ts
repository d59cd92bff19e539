import { TUNNEL_MODES } from '../nodes/tunnel-mode.js';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { ConfigFlags } from '../config/index.js';
import type { EgressConfig } from '../config/config-types.js';
import { DEFAULT_USER, LOG_FORMATS, LOG_LEVELS } from '../config/config-values.js';
import type { Logger } from '../log.js';

/** The flags every command that opens tunnels shares: an optional config file and what overrides it. */
export interface ConnectionFlags extends ConfigFlags {
  config?: string;
}

// No defaults here: an absent flag must leave the config file's value alone (defaults live in src/config).
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export function addConnectionOptions(command: Command): Command {
  return command
    .option('--config <file>', 'YAML config file (see examples/ssh-egress.yaml); the flags below override it')
    .option('--inventory <file>', 'nodes: a YAML/JSON inventory or `kubectl get nodes -o json` output (required without --config)')
    .option('--kubeconfig <file>', 'nodes from the Kubernetes API through this kubeconfig (instead of --inventory)')
    .option('--context <name>', 'kubeconfig context to use (alone: the default kubeconfig, as kubectl)')
    .option('-l, --user <name>', `SSH user on the nodes (default: ${DEFAULT_USER})`)
    .option('-i, --identity <file>', 'private key (default: the ssh-agent at $SSH_AUTH_SOCK)')
    .option('--known-hosts <file>', 'OpenSSH known_hosts with the nodes\' host keys')
    .option('--trust-on-first-use <file>', 'record host keys of nodes not yet known to this file (0600), then enforce them')
    .option('--service-cidr <cidr>', 'service ClusterIP range (repeatable; replaces the config file\'s)', collect)
    .addOption(
      new Option('--connect-timeout <ms>', 'TCP connect and SSH handshake timeout (default: 10000 and 15000)').argParser(positiveInt),
    )
    .addOption(new Option('--log-level <level>', 'log level on stderr (default: info for the daemon, warn otherwise)').choices(LOG_LEVELS))
    .addOption(new Option('--log-format <format>', 'log format (default: json for the daemon, text otherwise)').choices(LOG_FORMATS));
}

/** The daemon's listeners; each overrides the same listener in the config file. */
export function addListenerOptions(command: Command): Command {
  return command
    .option('--connect-socket <path>', 'HTTP CONNECT (kube-apiserver egress) on this Unix socket, mode 0600')
    .option('--connect-listen <host:port>', 'HTTP CONNECT on this address: mutual TLS with --tls-cert, --tls-key, --client-ca (or listeners.connect.tls); without them plain, on loopback only')
    .option('--tls-cert <file>', 'server certificate for --connect-listen')
    .option('--tls-key <file>', 'server key for --connect-listen')
    .option('--client-ca <file>', 'CA that must have signed client certificates on --connect-listen')
    .option('--socks-listen <host:port>', 'SOCKS5 on this address (loopback unless users are configured)')
    .option('--admin-listen <host:port>', 'admin HTTP (/healthz /readyz /metrics /status) on this address')
    .option('--agent-listen <host:port>', 'SSH listener node agents dial in to (reverse tunnels; needs --agent-host-key)')
    .option('--agent-host-key <file>', 'host key of --agent-listen (ed25519, created 0600 with <file>.pub on first start when missing)')
    .option('--agent-user-ca <file>', 'OpenSSH CA public keys trusted to sign agent certificates (principal = node name)')
    .addOption(new Option('--tunnel <mode>', 'direction of nodes that set none: forward dials sshd, reverse waits for the node\'s agent, auto does both (default: forward)').choices(TUNNEL_MODES));
}

/** The kubelet TLS files of the health check (and of `check`), as kube-apiserver names them. */
export function addKubeletTlsOptions(command: Command): Command {
  return command
    .option('--kubelet-ca <file>', 'CA that must have signed the kubelets\' serving certificates (healthCheck.caFile; kube-apiserver\'s --kubelet-certificate-authority)')
    .option('--kubelet-client-cert <file>', 'client certificate for kubelets that require one (healthCheck.certFile; --kubelet-client-certificate)')
    .option('--kubelet-client-key <file>', 'its key (healthCheck.keyFile; --kubelet-client-key)');
}

/** The config the flags describe: the --config file with the flags applied, or the flags alone. */
export async function configFromCommandLine(flags: ConnectionFlags): Promise<EgressConfig> {
  // Loaded here, not at the top: the config layer brings zod and every schema, which `--help` does not need.
  const { applyFlags, configFromFlags, loadConfig } = await import('../config/index.js');
  if (flags.config === undefined) return configFromFlags(flags);
  return applyFlags(await loadConfig(flags.config), flags);
}

/** One-shot commands log warnings as text unless the config or flags say otherwise. */
export async function commandLogger(config: EgressConfig): Promise<Logger> {
  const { createLogger } = await import('../log.js');
  return createLogger({ level: config.log.level ?? process.env.SSH_EGRESS_LOG_LEVEL ?? 'warn', format: config.log.format ?? 'text' });
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('not a positive whole number');
  return n;
}
