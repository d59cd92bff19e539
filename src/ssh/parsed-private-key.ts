import ssh2, { type ParsedKey } from 'ssh2';

/** Parsed keys by the loaded key bytes they came from (credentials load a key once per pool). */
const parsedKeys = new WeakMap<Buffer, { passphrase: string | undefined; key: ParsedKey }>();

/**
 * ssh2 parses a private key given as bytes again at every connect (an encrypted one runs bcrypt_pbkdf again),
 * and our patched ssh2 keeps a parsed key's KeyObject for signing: so each loaded key is parsed once, and ssh2
 * gets the parsed key in its publickey auth method. Undefined when the key does not parse: ssh2 is then given
 * the bytes, to refuse in its own words.
 */
export function parsedPrivateKey(privateKey: Buffer, passphrase: string | undefined): ParsedKey | undefined {
  const known = parsedKeys.get(privateKey);
  if (known && known.passphrase === passphrase) return known.key;
  const result = ssh2.utils.parseKey(privateKey, passphrase);
  const key = Array.isArray(result) ? result[0] : result;
  if (key === undefined || key instanceof Error) return undefined;
  parsedKeys.set(privateKey, { passphrase, key });
  return key;
}
