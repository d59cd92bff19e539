import type { Command } from 'commander';
import type { CommandName } from './command-summaries.js';

/** Builds a command; its action reports the exit status through `setExitCode`. */
export type CommandFactory = (setExitCode: (code: number) => void) => Command;

/**
 * Each command's module, imported only when that command runs (or its help is asked for): `--version`,
 * `--help` and a light command do not pay for the daemon, the Kubernetes client or the SSH stack.
 */
export const COMMAND_LOADERS: Record<CommandName, () => Promise<CommandFactory>> = {
  agent: async () => (await import('./agent.js')).agentCommand,
  check: async () => (await import('./check.js')).checkCommand,
  daemon: async () => (await import('./daemon.js')).daemonCommand,
  dial: async () => (await import('./dial.js')).dialCommand,
  keygen: async () => (await import('./keygen.js')).keygenCommand,
  scan: async () => (await import('./scan.js')).scanCommand,
  status: async () => (await import('./status.js')).statusCommand,
};
