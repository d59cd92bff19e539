import { readFile } from 'node:fs/promises';
import sshpk from 'sshpk';
import { KeyError } from '../errors.js';
import { describeFsError } from '../fs/file-permissions.js';
import { fingerprintOf } from '../hostkeys/fingerprint.js';

/** A CA trusted to sign agent certificates (`--agent-user-ca`), as sshd's TrustedUserCAKeys. */
export interface TrustedUserCA {
  key: sshpk.Key;
  /** The key in SSH wire format, compared byte for byte with the key a certificate names as its signer. */
  blob: Buffer;
  fingerprint: string;
}

/** Reads CA public keys, one OpenSSH public key line each; blank lines and `#` comments are skipped. */
export async function loadTrustedUserCAs(file: string): Promise<TrustedUserCA[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new KeyError(`agent user CA file ${file} ${describeFsError(err)}`, err);
  }
  return parseTrustedUserCAs(text, file);
}

export function parseTrustedUserCAs(text: string, source = 'agent user CA file'): TrustedUserCA[] {
  const cas: TrustedUserCA[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let key: sshpk.Key;
    try {
      key = sshpk.parseKey(line, 'ssh');
    } catch (err) {
      throw new KeyError(`${source}:${index + 1}: not an OpenSSH public key line`, err);
    }
    const blob = key.toBuffer('rfc4253');
    cas.push({ key, blob, fingerprint: fingerprintOf(blob) });
  });
  if (cas.length === 0) throw new KeyError(`${source} holds no CA public key`);
  return cas;
}
