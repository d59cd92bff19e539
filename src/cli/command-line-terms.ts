import { ConfigError } from '../errors.js';

/**
 * The flag behind each pool option a command line can set. The pool checks its options by field name
 * ("identityFile: ..."); a command-line user typed flags, so the CLI tells such a problem by its flag and the
 * config key beside it.
 */
const FLAG_OF_POOL_FIELD: Readonly<Record<string, { flag: string; problem?: string }>> = {
  user: { flag: '-l/--user' },
  identityFile: { flag: '-i/--identity', problem: 'give a private key file, or run an ssh-agent (no SSH_AUTH_SOCK is set)' },
  knownHostsFile: { flag: '--known-hosts' },
  trustOnFirstUseFile: { flag: '--trust-on-first-use' },
  connectTimeoutMs: { flag: '--connect-timeout' },
  tunnel: { flag: '--tunnel' },
};

/** A pool's ConfigError in command-line words ("-i/--identity (or ssh.identityFile): ..."); others unchanged. */
export function inCommandLineTerms(err: ConfigError): ConfigError {
  const known = FLAG_OF_POOL_FIELD[err.path];
  if (!known) return err;
  const problem = known.problem ?? err.message.slice(`${err.path}: `.length);
  return new ConfigError(`${known.flag} (or ssh.${err.path} in a config file)`, problem, { cause: err });
}
