import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { agentCommand } from './agent.js';
import { checkCommand } from './check.js';
import { daemonCommand } from './daemon.js';
import { dialCommand } from './dial.js';
import { keygenCommand } from './keygen.js';
import { exitQuietlyOnBrokenPipe } from './output/broken-pipe.js';
import { scanCommand } from './scan.js';
import { statusCommand } from './status.js';

// Self-reference through the package's exports, so it works from src/ and from dist/ alike.
const VERSION = (createRequire(import.meta.url)('ssh-egress/package.json') as { version: string }).version;

/** Runs the CLI; resolves to the exit status (0 success, 1 a failed operation, 2 usage or config error). */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('ssh-egress')
    .description('reach Kubernetes nodes, and the kubelets, pods and services behind them, through SSH tunnels')
    .version(VERSION)
    .exitOverride()
    .addCommand(agentCommand((code) => (exitCode = code)))
    .addCommand(checkCommand((code) => (exitCode = code)))
    .addCommand(daemonCommand((code) => (exitCode = code)))
    .addCommand(dialCommand((code) => (exitCode = code)))
    .addCommand(keygenCommand((code) => (exitCode = code)))
    .addCommand(scanCommand((code) => (exitCode = code)))
    .addCommand(statusCommand((code) => (exitCode = code)))
    .addHelpText(
      'after',
      `
Exit status: 0 success, 1 the operation failed (a node, the network), 2 usage, config or inventory error.
Colours only on a terminal, and never with NO_COLOR set. \`ssh-egress help <command>\` for each command.

Examples:
  ssh-egress check --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts
  ssh-egress scan --inventory nodes.yaml > known_hosts
  ssh -o ProxyCommand='ssh-egress dial --config /etc/ssh-egress/ssh-egress.yaml %h:%p' root@10.244.1.7
  ssh-egress daemon --config /etc/ssh-egress/ssh-egress.yaml
  ssh-egress status`,
    );
  // addCommand() does not pass settings down; usage errors must exit 2 everywhere, not kill the process.
  for (const command of program.commands) command.exitOverride();
  const keepStdoutErrors = exitQuietlyOnBrokenPipe(() => exitCode);
  program.hook('preAction', (_program, command) => {
    if (command.name() === 'dial') keepStdoutErrors(); // its stdout is the stream: its fate decides the exit status
  });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exitCode;
}
