import ssh2 from 'ssh2';

const { utils } = ssh2;

export interface Ed25519KeyPair {
  /** OpenSSH private key. */
  private: string;
  /** OpenSSH public key line: `ssh-ed25519 AAAA... comment`. */
  public: string;
}

/**
 * ssh2 1.17's generator strips leading zero bytes from the ed25519 public key, so about 1 key in 256
 * comes out 31 bytes long and its own parseKey rejects it ("Malformed OpenSSH private key";
 * mscdex/ssh2#1390, #1513). Draw again until both halves parse.
 */
export function generateEd25519(comment?: string): Ed25519KeyPair {
  for (let attempt = 0; attempt < 64; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? {} : { comment });
    if (!(utils.parseKey(pair.private) instanceof Error) && !(utils.parseKey(pair.public) instanceof Error)) {
      return { private: pair.private, public: pair.public };
    }
  }
  throw new Error('could not generate a parseable ed25519 key');
}
