import { open } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { KeyError } from '../errors.js';
import { describeFsError, readPrivateFile } from '../fs/file-permissions.js';

/**
 * Loads the SSH identity the tunnels authenticate with, and checks it now rather than at the first
 * handshake: unsafe permissions, a missing or wrong passphrase and unsupported formats all fail here with
 * a KeyError. Messages name the file, never key material or passphrases.
 */

export interface PrivateKeySource {
  identityFile: string;
  /** At most one of the three passphrase sources may be given. */
  passphrase?: string;
  /** A file holding the passphrase; its trailing newline is dropped. */
  passphraseFile?: string;
  /** The name of an environment variable holding the passphrase. */
  passphraseEnv?: string;
}

export interface LoadedPrivateKey {
  key: Buffer;
  /** Set only when the key is encrypted, so the passphrase is not handed around needlessly. */
  passphrase?: string;
}

export async function loadPrivateKey(source: PrivateKeySource): Promise<LoadedPrivateKey> {
  const file = source.identityFile;
  const given = [source.passphrase, source.passphraseFile, source.passphraseEnv].filter((v) => v !== undefined);
  if (given.length > 1) {
    throw new KeyError(`${file}: give only one of passphrase, passphraseFile and passphraseEnv`);
  }
  const key = await readPrivateFile(file, 'private key', (message, cause) => new KeyError(message, cause));
  const plain = parseKey(key);
  if (!(plain instanceof Error)) {
    assertPrivate(plain, file);
    return { key };
  }
  // ssh2 refuses an encrypted key without a passphrase with this wording, for every format it reads.
  if (!/no passphrase given/i.test(plain.message)) {
    throw new KeyError(`${file} is not a usable private key: ${plain.message}`, plain);
  }
  const passphrase = await resolvePassphrase(source);
  if (passphrase === undefined || passphrase === '') {
    throw new KeyError(`${file} is encrypted: give a passphrase`);
  }
  const decrypted = parseKey(key, passphrase);
  if (decrypted instanceof Error) throw new KeyError(`wrong passphrase for ${file}`, decrypted);
  assertPrivate(decrypted, file);
  return { key, passphrase };
}

async function resolvePassphrase(source: PrivateKeySource): Promise<string | undefined> {
  if (source.passphrase !== undefined) return source.passphrase;
  if (source.passphraseFile !== undefined) {
    const path = source.passphraseFile;
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new KeyError(`passphrase file ${path} ${describeFsError(err)}`, err);
    }
    try {
      return (await handle.readFile('utf8')).replace(/[\r\n]+$/, '');
    } finally {
      await handle.close();
    }
  }
  if (source.passphraseEnv !== undefined) {
    const value = process.env[source.passphraseEnv];
    if (value === undefined) {
      throw new KeyError(`environment variable ${source.passphraseEnv} (passphrase for ${source.identityFile}) is not set`);
    }
    return value;
  }
  return undefined;
}

/** ssh2 returns its errors, but a crypto failure inside it could still throw: treat both alike. */
function parseKey(key: Buffer, passphrase?: string): ssh2.ParsedKey | Error {
  try {
    return ssh2.utils.parseKey(key, passphrase);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

function assertPrivate(parsed: ssh2.ParsedKey, file: string): void {
  if (!parsed || !parsed.isPrivateKey()) {
    throw new KeyError(`${file} holds a public key; give the private key file`);
  }
}
