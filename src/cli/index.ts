import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { COMMAND_SUMMARIES, type CommandName } from './command-summaries.js';
import { COMMAND_LOADERS } from './command-table.js';
import { exitQuietlyOnBrokenPipe } from './output/broken-pipe.js';

// Self-reference through the package's exports, so it works from src/ and from dist/ alike.
const VERSION = (createRequire(import.meta.url)('ssh-egress/package.json') as { version: string }).version;

/** Runs the CLI; resolves to the exit status (0 success, 1 a failed operation, 2 usage or config error). */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const setExitCode = (code: number): void => void (exitCode = code);
  const program = new Command('ssh-egress')
    .description('reach Kubernetes nodes, and the kubelets, pods and services behind them, through SSH tunnels')
    .version(VERSION)
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit status: 0 success, 1 the operation failed (a node, the network), 2 usage, config or inventory error.
Colours only on a terminal, and never with NO_COLOR set. \`ssh-egress help <command>\` for each command.

Examples:
  ssh-egress check --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts
  ssh-egress scan --inventory nodes.yaml > known_hosts
  ssh -o ProxyCommand='ssh-egress dial --connect-socket /run/ssh-egress/egress.sock %h:%p' root@node-a
  ssh-egress daemon --config /etc/ssh-egress/ssh-egress.yaml
  ssh-egress status
  ssh-egress agent --server cp.example:8022 --name n1 -i /etc/ssh-egress/agent_key --known-hosts /etc/ssh-egress/known_hosts`,
    );
  // Only the command asked for is loaded; the others are listed by name and summary for the help.
  const wanted = commandNamed(argv.slice(2));
  for (const name of Object.keys(COMMAND_SUMMARIES) as CommandName[]) {
    const command = name === wanted ? (await COMMAND_LOADERS[name]())(setExitCode) : new Command(name).description(COMMAND_SUMMARIES[name]);
    // addCommand() does not pass settings down; usage errors must exit 2 everywhere, not kill the process.
    program.addCommand(command.exitOverride());
  }
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

/** The command the arguments name (`check ...` or `help check`), if any: the first word that is not an option. */
function commandNamed(args: string[]): CommandName | undefined {
  const words = args.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return name !== undefined && Object.hasOwn(COMMAND_SUMMARIES, name) ? (name as CommandName) : undefined;
}
