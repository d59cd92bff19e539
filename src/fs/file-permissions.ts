import { open } from 'node:fs/promises';

/**
 * Reading secret files (SSH identities, TLS client keys) the way OpenSSH does: refuse one that group or
 * others may read or write. Each caller keeps its own error type through `makeError`.
 */

export type MakeError = (message: string, cause?: unknown) => Error;

/**
 * Opens once and checks the mode of what was opened, so the file cannot be swapped between check and read.
 * `what` starts the messages, e.g. "private key" -> "private key /k does not exist".
 */
export async function readPrivateFile(file: string, what: string, makeError: MakeError): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw makeError(`${what} ${file} ${describeFsError(err)}`, err);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw makeError(`${what} ${file} is not a regular file`);
    // OpenSSH (sshkey_perm_ok) refuses a file of ours that group or others may read or write; one owned
    // by someone else is not checked, since we could not chmod it anyway.
    const ownedByUs = process.getuid === undefined || stat.uid === process.getuid();
    if (ownedByUs && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
      throw makeError(`permissions ${mode} for ${file} are too open; chmod 600 it`);
    }
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The end of a message about a file that could not be opened: "does not exist", "cannot be read (...)". */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES') return 'cannot be read (permission denied)';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot be read (${code ?? 'unknown error'})`;
}
