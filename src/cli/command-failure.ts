import { ConfigError } from '../errors.js';
import { inCommandLineTerms } from './command-line-terms.js';
import { exitStatusFor } from './exit-status.js';

/** Prints why a command failed, in the terms of its command line, and returns its exit status. */
export function reportFailure(command: string, err: unknown): number {
  const shown = err instanceof ConfigError ? inCommandLineTerms(err) : err;
  process.stderr.write(`ssh-egress ${command}: ${(shown as Error).message}\n`);
  return exitStatusFor(err);
}
