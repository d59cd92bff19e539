/** A key pair in the text forms OpenSSH reads: a private key file and an `authorized_keys` line. */
export interface OpenSshKeyPair {
  /** The private key file's contents; encrypted when a passphrase was given. */
  privateKey: string;
  /** `<type> <base64> [comment]`, one line without a newline. */
  publicKey: string;
}

export interface KeyMaterialOptions {
  comment?: string;
  /** Encrypts the private key; undefined or '' leaves it unencrypted. */
  passphrase?: string;
}
