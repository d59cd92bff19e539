import { Command, Option } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { reportFailure } from './command-failure.js';
import { addConnectionOptions, positiveInt } from './connection-options.js';
import type { DialFlags } from './dial-flags.js';

/**
 * `ssh-egress dial TARGET`: stdin and stdout piped through the tunnel that owns TARGET, either its own
 * (from --config/--inventory) or a running daemon's (--connect-socket, --connect). Each way is loaded only
 * when used: through a daemon, a ProxyCommand starts without the SSH stack.
 */
export function dialCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('dial')
    .description(COMMAND_SUMMARIES.dial)
    .argument('<target>', 'host:port: a node name or address, a pod IP, a ClusterIP, or [ipv6]:port')
    .addOption(new Option('--connect-socket <path>', 'ask the running daemon through its HTTP CONNECT Unix socket (no SSH of its own)').conflicts('connect'))
    .option('--connect <host:port>', 'ask the running daemon through its plain HTTP CONNECT listener on loopback')
    .option('--via <node>', 'carry the stream through this node\'s tunnel (not with --connect-socket or --connect)')
    .option('--timeout <ms>', 'dial timeout (default: dial.timeoutMs from --config, else 10000; through a daemon: 30000 for its answer)', positiveInt)
    .addHelpText(
      'after',
      `
Through a running daemon (--connect-socket, --connect) the daemon routes and dials: the connection flags
below are not used. Without them, dial opens its own SSH connection to the one node it needs.

Examples:
  ssh -o ProxyCommand='ssh-egress dial --connect-socket /run/ssh-egress/egress.sock %h:%p' root@node-a
  ssh-egress dial --connect 127.0.0.1:8131 10.244.1.7:8080
  ssh-egress dial --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts 10.244.1.7:8080
  ssh-egress dial --config /etc/ssh-egress/ssh-egress.yaml node-a:10250
  ssh-egress dial --kubeconfig ~/.kube/config -i key --known-hosts kh node-a:10250   # nodes from the API`,
    );
  addConnectionOptions(command).action(async (target: string, flags: DialFlags) => {
    try {
      const throughDaemon = flags.connectSocket !== undefined || flags.connect !== undefined;
      const run = throughDaemon ? (await import('./dial-through-daemon.js')).dialThroughDaemon : (await import('./dial-own-tunnel.js')).dialOwnTunnel;
      await run(target, flags);
    } catch (err) {
      setExitCode(reportFailure('dial', err));
    }
  });
  return command;
}
