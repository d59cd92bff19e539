import { InvalidArgumentError, Option, type Command } from 'commander';
import type { TunnelPoolOptions } from '../tunnel/pool-options.js';

/** The flags every command that opens tunnels shares. */
export interface ConnectionFlags {
  inventory: string;
  user: string;
  identity?: string;
  knownHosts?: string;
  trustOnFirstUse?: string;
  serviceCidr: string[];
  connectTimeout: number;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function addConnectionOptions(command: Command): Command {
  return command
    .requiredOption('--inventory <file>', 'nodes: a YAML/JSON inventory or `kubectl get nodes -o json` output')
    .option('-l, --user <name>', 'SSH user on the nodes', 'root')
    .option('-i, --identity <file>', 'private key (default: the ssh-agent at $SSH_AUTH_SOCK)')
    .option('--known-hosts <file>', 'OpenSSH known_hosts with the nodes\' host keys')
    .option('--trust-on-first-use <file>', 'record host keys of nodes not yet known to this file (0600), then enforce them')
    .option('--service-cidr <cidr>', 'service ClusterIP range (repeatable)', collect, [])
    .addOption(
      new Option('--connect-timeout <ms>', 'TCP connect and SSH handshake timeout').default(10_000).argParser(positiveInt),
    );
}

export function poolOptionsFrom(flags: ConnectionFlags): TunnelPoolOptions {
  return {
    user: flags.user,
    ...(flags.identity && { identityFile: flags.identity }),
    ...(flags.knownHosts && { knownHostsFile: flags.knownHosts }),
    ...(flags.trustOnFirstUse && { trustOnFirstUseFile: flags.trustOnFirstUse }),
    connectTimeoutMs: flags.connectTimeout,
    handshakeTimeoutMs: flags.connectTimeout,
  };
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('not a positive whole number');
  return n;
}
