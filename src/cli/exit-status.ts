import { ConfigError, DaemonUnreachableError, InvalidTargetError, InventoryError, KeyError, KnownHostsError, MissingPackageError } from '../errors.js';
import { TlsConfigError } from '../tls/tls-config-error.js';

/** The CLI's exit statuses: 0 success, 1 an operation failed (network, nodes), 2 usage or config error. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

/**
 * 2 when the command line, config, inventory or a local key/certificate file is wrong, a needed package is
 * missing, or the daemon cannot be asked (as `status`); 1 otherwise.
 */
export function exitStatusFor(err: unknown): number {
  const usage =
    err instanceof ConfigError ||
    err instanceof InventoryError ||
    err instanceof InvalidTargetError ||
    err instanceof KeyError ||
    err instanceof KnownHostsError ||
    err instanceof TlsConfigError ||
    err instanceof MissingPackageError ||
    err instanceof DaemonUnreachableError;
  return usage ? EXIT.USAGE : EXIT.FAILED;
}
