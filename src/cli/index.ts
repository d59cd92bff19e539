import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { daemonCommand } from './daemon.js';
import { dialCommand } from './dial.js';
import { keygenCommand } from './keygen.js';

// Self-reference through the package's exports, so it works from src/ and from dist/ alike.
const VERSION = (createRequire(import.meta.url)('ssh-egress/package.json') as { version: string }).version;

/** Runs the CLI; resolves to the exit status (0 success, 1 a failed operation, 2 usage or config error). */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('ssh-egress')
    .description('reach Kubernetes nodes, and the kubelets, pods and services behind them, through SSH tunnels')
    .version(VERSION)
    .exitOverride()
    .addCommand(daemonCommand((code) => (exitCode = code)))
    .addCommand(dialCommand((code) => (exitCode = code)))
    .addCommand(keygenCommand((code) => (exitCode = code)));
  // addCommand() does not pass settings down; usage errors must exit 2 everywhere, not kill the process.
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return exitCode;
}
