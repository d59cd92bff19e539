import { randomBytes } from 'node:crypto';
import { link, lstat, open, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { KeyError } from '../errors.js';
import type { OpenSshKeyPair } from './openssh-key-pair.js';

export interface WriteKeyPairOptions {
  /** Replace an existing pair at the path. Default false: refuse. */
  force?: boolean;
}

export interface WrittenKeyPair {
  privateKeyFile: string;
  publicKeyFile: string;
}

/**
 * Writes `path` (the private key, mode 0600) and then `path.pub`, so a `.pub` next to a key means the
 * pair is complete. The private key is created with O_EXCL and mode 0600 in one step: it is never
 * readable by others, not even briefly, and a symlink planted at the path is not followed.
 */
export async function writeKeyPair(path: string, pair: OpenSshKeyPair, options: WriteKeyPairOptions = {}): Promise<WrittenKeyPair> {
  const publicKeyFile = `${path}.pub`;
  if (options.force) {
    // The old .pub goes first: until the new pair is whole, nothing may claim it is.
    await removeIfPresent(publicKeyFile);
    await removeIfPresent(path);
  } else {
    for (const file of [path, publicKeyFile]) await refuseIfPresent(file);
  }
  await writeExclusive(path, pair.privateKey, 0o600);
  try {
    await writePublicKey(publicKeyFile, `${pair.publicKey.trim()}\n`);
  } catch (err) {
    // No half pair left behind, and no stray private key.
    await unlink(path).catch(() => undefined);
    throw err;
  }
  return { privateKeyFile: path, publicKeyFile };
}

async function writeExclusive(file: string, text: string, mode: number): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'wx', mode);
  } catch (err) {
    throw fsError(file, err);
  }
  try {
    await handle.writeFile(text);
    // On disk before the .pub appears, so a crash cannot leave a .pub beside an empty key.
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(file).catch(() => undefined);
    throw fsError(file, err);
  }
  await handle.close();
}

/** Written whole under a temporary name, then linked into place: it appears complete or not at all, never clobbering. */
async function writePublicKey(file: string, text: string): Promise<void> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, { mode: 0o644, flag: 'wx' });
    await link(temp, file);
  } catch (err) {
    throw fsError(file, err);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function refuseIfPresent(file: string): Promise<void> {
  try {
    await lstat(file); // a dangling symlink counts as present too
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw fsError(file, err);
  }
  throw new KeyError(`${file} already exists; not overwriting it without force (--force)`);
}

async function removeIfPresent(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(file, err);
  }
}

function fsError(file: string, err: unknown): KeyError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return new KeyError(`${file} already exists; not overwriting it without force (--force)`, err);
  if (code === 'ENOENT') return new KeyError(`cannot create ${file}: directory ${dirname(file)} does not exist`, err);
  if (code === 'EACCES' || code === 'EPERM') return new KeyError(`cannot write ${file}: permission denied`, err);
  if (code === 'EISDIR') return new KeyError(`cannot write ${file}: it is a directory`, err);
  return new KeyError(`cannot write ${file} (${code ?? (err as Error).message})`, err);
}
