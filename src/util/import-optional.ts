import { MissingPackageError } from '../errors.js';

/**
 * Imports an optional package on first use; when it is not installed, a MissingPackageError saying what
 * needs it and how to add it replaces Node's ERR_MODULE_NOT_FOUND. Any other failure passes as it is.
 */
export async function importOptional<T>(packageName: string, neededFor: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // The package itself is missing, not one of its own imports (that is a broken install, said as it is).
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`'${packageName}'`)) throw new MissingPackageError(packageName, neededFor, err);
    throw err;
  }
}
