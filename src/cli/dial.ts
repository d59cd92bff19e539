import { Command } from 'commander';
import { Dialer } from '../dialer/dialer.js';
import { loadInventory } from '../nodes/load-inventory.js';
import { TunnelPool } from '../tunnel/pool.js';
import type { Logger } from '../log.js';
import { ConfigError, InvalidTargetError, InventoryError, KeyError } from '../errors.js';
import { addConnectionOptions, poolOptionsFrom, positiveInt, type ConnectionFlags } from './connection-options.js';

interface DialFlags extends ConnectionFlags {
  via?: string;
  timeout: number;
}

/** `ssh-egress dial TARGET`: stdin and stdout piped through the tunnel that owns TARGET. */
export function dialCommand(logger: Logger, setExitCode: (code: number) => void): Command {
  const command = new Command('dial')
    .description('pipe stdin/stdout to TARGET through the right node\'s tunnel (usable as an OpenSSH ProxyCommand)')
    .argument('<target>', 'host:port: a node name or address, a pod IP, a ClusterIP, or [ipv6]:port')
    .option('--via <node>', 'carry the stream through this node\'s tunnel')
    .option('--timeout <ms>', 'dial timeout', positiveInt, 10_000)
    .addHelpText(
      'after',
      `
Examples:
  ssh-egress dial --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts 10.244.1.7:8080
  ssh -o ProxyCommand='ssh-egress dial --inventory nodes.yaml -i key --known-hosts kh %h:%p' root@10.244.1.7`,
    );
  addConnectionOptions(command).action(async (target: string, flags: DialFlags) => {
    let pool: TunnelPool | undefined;
    try {
      pool = new TunnelPool({ ...poolOptionsFrom(flags), lazyConnect: true, logger });
      pool.setNodes(await loadInventory(flags.inventory));
      const dialer = new Dialer(pool, { serviceCIDRs: flags.serviceCidr, logger });
      const socket = await dialer.dial(target, {
        timeoutMs: flags.timeout,
        allowHalfOpen: true,
        ...(flags.via && { via: flags.via }),
      });
      await pipeStdio(socket);
    } catch (err) {
      process.stderr.write(`ssh-egress dial: ${(err as Error).message}\n`);
      setExitCode(isUsageError(err) ? 2 : 1);
    } finally {
      await pool?.close();
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

/** Exit status 2: the command line, config or inventory is wrong, rather than the network. */
function isUsageError(err: unknown): boolean {
  return err instanceof ConfigError || err instanceof InventoryError || err instanceof InvalidTargetError || err instanceof KeyError;
}
