import { createHash } from 'node:crypto';

/**
 * Fingerprints and key types of SSH public keys in wire format (RFC 4253 section 6.6): the blob a
 * known_hosts line carries in base64 and the blob ssh2's `hostVerifier(key)` receives (when no
 * `hostHash` option is set).
 */

/** OpenSSH's default fingerprint, as `ssh-keygen -lf` and `ssh` print it: "SHA256:" + unpadded base64. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The key's algorithm name, the length-prefixed string that starts every blob ("ssh-ed25519",
 * "ecdsa-sha2-nistp256", "ssh-rsa", ...). Undefined when the blob is too short to hold one.
 */
export function keyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || keyBlob.length < 4 + length) return undefined;
  const name = keyBlob.toString('latin1', 4, 4 + length);
  return /^[\x21-\x7e]+$/.test(name) ? name : undefined;
}

/**
 * Normalises a pinned fingerprint for comparison: the "SHA256:" prefix in any case, base64 padding
 * dropped (some tools print it). Anything else (MD5 "aa:bb:..") is returned unchanged and never matches.
 */
export function normalizeFingerprint(fingerprint: string): string {
  const trimmed = fingerprint.trim();
  const m = /^sha256:([A-Za-z0-9+/]+)=*$/i.exec(trimmed);
  return m ? `SHA256:${m[1]}` : trimmed;
}
