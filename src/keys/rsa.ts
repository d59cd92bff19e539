import forge from 'node-forge';
import type { KeyMaterialOptions, OpenSshKeyPair } from './openssh-key-pair.js';

/** NIST SP 800-57 puts 3072-bit RSA level with 128-bit security; OpenSSH's own default since 8.8. */
export const MIN_RSA_BITS = 3072;
/** node-forge (and Node's native generator it uses) stop at 16384. */
export const MAX_RSA_BITS = 16384;

/**
 * An RSA pair made by node-forge, which hands the work to Node's native generator when it can.
 *
 * The private key is PEM ("BEGIN RSA PRIVATE KEY", PKCS#1), which OpenSSH and ssh2 both read. With a
 * passphrase it is legacy PEM encryption (AES-256-CBC, key from one round of MD5): the only encrypted
 * RSA format both forge can write and ssh2 can read, and far cheaper to brute-force than ed25519's
 * bcrypt_pbkdf; SECURITY.md says so.
 */
export async function generateRsaKey(bits: number, options: KeyMaterialOptions = {}): Promise<OpenSshKeyPair> {
  const pair = await new Promise<forge.pki.rsa.KeyPair>((resolve, reject) =>
    forge.pki.rsa.generateKeyPair({ bits, e: 0x10001, workers: -1 }, (err, keys) => (err ? reject(err) : resolve(keys))),
  );
  const pem = options.passphrase
    ? forge.pki.encryptRsaPrivateKey(pair.privateKey, options.passphrase, { legacy: true, algorithm: 'aes256' })
    : forge.pki.privateKeyToPem(pair.privateKey);
  const publicKey = String(forge.ssh.publicKeyToOpenSSH(pair.publicKey, options.comment ?? '')).trimEnd();
  // forge writes CRLF; key files are LF everywhere else.
  return { privateKey: pem.replace(/\r\n/g, '\n'), publicKey };
}
