import { generateEd25519Key } from '../keys/ed25519.js';

export interface Ed25519KeyPair {
  /** OpenSSH private key. */
  private: string;
  /** OpenSSH public key line: `ssh-ed25519 AAAA... comment`. */
  public: string;
}

/** An unencrypted ed25519 pair that ssh2 can parse (src/keys/ed25519.ts retries ssh2's rare bad keys). */
export function generateEd25519(comment?: string): Ed25519KeyPair {
  const pair = generateEd25519Key(comment === undefined ? {} : { comment });
  return { private: pair.privateKey, public: pair.publicKey };
}
