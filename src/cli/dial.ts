import { Command } from 'commander';
import { EgressRuntime } from '../runtime/index.js';
import { exitStatusFor } from './exit-status.js';
import { addConnectionOptions, commandLogger, configFromCommandLine, positiveInt, type ConnectionFlags } from './connection-options.js';

interface DialFlags extends ConnectionFlags {
  via?: string;
  /** Absent: the config's dial.timeoutMs (10000 by default). */
  timeout?: number;
}

/** `ssh-egress dial TARGET`: stdin and stdout piped through the tunnel that owns TARGET. */
export function dialCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('dial')
    .description('pipe stdin/stdout to TARGET through the right node\'s tunnel (usable as an OpenSSH ProxyCommand)')
    .argument('<target>', 'host:port: a node name or address, a pod IP, a ClusterIP, or [ipv6]:port')
    .option('--via <node>', 'carry the stream through this node\'s tunnel')
    .option('--timeout <ms>', 'dial timeout (default: dial.timeoutMs from --config, else 10000)', positiveInt)
    .addHelpText(
      'after',
      `
Examples:
  ssh-egress dial --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts 10.244.1.7:8080
  ssh -o ProxyCommand='ssh-egress dial --inventory nodes.yaml -i key --known-hosts kh %h:%p' root@10.244.1.7
  ssh-egress dial --config /etc/ssh-egress/ssh-egress.yaml node-a:10250
  ssh-egress dial --kubeconfig ~/.kube/config -i key --known-hosts kh node-a:10250   # nodes from the API`,
    );
  addConnectionOptions(command).action(async (target: string, flags: DialFlags) => {
    let runtime: EgressRuntime | undefined;
    try {
      const config = await configFromCommandLine(flags);
      const logger = commandLogger(config);
      // One short-lived stream: connect only the node it needs, and let keepalive alone watch it.
      runtime = await EgressRuntime.create(config, { logger, poolOverrides: { lazyConnect: true, healthCheck: { kind: 'ssh' } } });
      await runtime.apply(config);
      const socket = await runtime.dialer.dial(target, {
        ...(flags.timeout !== undefined && { timeoutMs: flags.timeout }),
        allowHalfOpen: true,
        ...(flags.via && { via: flags.via }),
      });
      await pipeStdio(socket);
    } catch (err) {
      process.stderr.write(`ssh-egress dial: ${(err as Error).message}\n`);
      setExitCode(exitStatusFor(err));
    } finally {
      await runtime?.close();
    }
  });
  return command;
}

/** Copies both ways with half-close: our stdin's end ends the sending side only; the far end's ends stdout. */
function pipeStdio(socket: import('node:stream').Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
    socket.on('end', () => {
      process.stdin.unpipe(socket);
      process.stdin.destroy();
    });
    socket.on('close', () => resolve());
  });
}
