import ssh2 from 'ssh2';
import type { KeyMaterialOptions, OpenSshKeyPair } from './openssh-key-pair.js';

const { utils } = ssh2;

/** What `ssh-keygen -N` uses for the openssh-key-v1 format: aes256-ctr with 16 bcrypt_pbkdf rounds. */
const CIPHER = 'aes256-ctr';
const KDF_ROUNDS = 16;

/**
 * An ed25519 pair in OpenSSH's own format, made by ssh2.
 *
 * ssh2 1.17's generator strips leading zero bytes from the ed25519 public key, so about 1 key in 256
 * comes out 31 bytes long and its own parseKey rejects it ("Malformed OpenSSH private key";
 * mscdex/ssh2#1390, #1513). Draw again until both halves parse.
 */
export function generateEd25519Key(options: KeyMaterialOptions = {}): OpenSshKeyPair {
  const { comment, passphrase } = options;
  const settings = {
    ...(comment !== undefined && { comment }),
    ...(passphrase ? { passphrase, cipher: CIPHER, rounds: KDF_ROUNDS } : {}),
  };
  for (let attempt = 0; attempt < 64; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', settings);
    if (parses(pair.private, passphrase) && parses(pair.public)) return { privateKey: pair.private, publicKey: pair.public };
  }
  throw new Error('could not generate a parseable ed25519 key');
}

function parses(text: string, passphrase?: string): boolean {
  try {
    return !(utils.parseKey(text, passphrase || undefined) instanceof Error);
  } catch {
    return false;
  }
}
