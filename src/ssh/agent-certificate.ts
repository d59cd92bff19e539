import sshpk from 'sshpk';
import { fingerprintOf } from '../hostkeys/fingerprint.js';
import { isIp } from '../net/address.js';
import { parseCidr } from '../net/cidr.js';
import type { TrustedUserCA } from './agent-user-ca.js';

/**
 * OpenSSH user certificates for node agents, checked as sshd checks them against TrustedUserCAKeys
 * (auth2-pubkey.c, sshkey_cert_check_authority): a user certificate, signed by a trusted CA, valid now,
 * naming the node among its principals, with no critical option we do not enforce, from an allowed address.
 *
 * sshpk parses the certificate, but its isSignedByKey() only compares the embedded CA key with the one
 * given and never checks the signature (sshpk 1.18, openssh-cert.js): the signature is verified here.
 */

/** Critical options we enforce; any other makes the certificate unusable, as sshd does for unknown ones. */
const ENFORCED_CRITICAL_OPTIONS = new Set(['source-address']);

export type CertificateVerdict =
  | {
      ok: true;
      /** The certified key, which must make the session signature. */
      subjectKey: sshpk.Key;
      /** For logs: the certified key's fingerprint, key id, serial and CA. Nothing secret. */
      description: string;
    }
  | { ok: false; reason: string };

export interface CertificateCheck {
  /** `ssh-ed25519-cert-v01@openssh.com` and the like, as the client named it. */
  algorithm: string;
  blob: Buffer;
  node: string;
  remoteAddress: string;
  trusted: readonly TrustedUserCA[];
  now?: Date;
}

export function isCertificateAlgorithm(algorithm: string): boolean {
  return algorithm.endsWith('-cert-v01@openssh.com');
}

export function checkAgentCertificate(check: CertificateCheck): CertificateVerdict {
  let cert: sshpk.Certificate;
  try {
    cert = sshpk.parseCertificate(`${check.algorithm} ${check.blob.toString('base64')}`, 'openssh');
  } catch {
    return { ok: false, reason: 'malformed certificate' };
  }
  const openssh = cert.signatures.openssh;
  if (!openssh) return { ok: false, reason: 'malformed certificate' };
  const ca = check.trusted.find((candidate) => signedBy(check.blob, candidate));
  // Read back from wire format: sshpk's certificate parser pads an ed25519 key with a high first bit to 33
  // bytes (it normalises it like an RSA integer), and such a key then fails every verification.
  const subjectBlob = cert.subjectKey.toBuffer('rfc4253');
  const description = `certificate of ${fingerprintOf(subjectBlob)} id "${openssh.keyId}" serial ${cert.serial.toString('hex')}`;
  const refuse = (reason: string): CertificateVerdict => ({ ok: false, reason: `${description}: ${reason}` });
  if (!ca) return refuse('not signed by a trusted CA');
  if (cert.subjects.some((subject) => subject.type !== 'user')) return refuse('not a user certificate');
  const now = (check.now ?? new Date()).getTime();
  // "forever" (2^64-1 seconds) does not fit a Date and comes back invalid from sshpk.
  const until = cert.validUntil.getTime();
  if (!(cert.validFrom.getTime() <= now)) return refuse(`not valid before ${cert.validFrom.toISOString()}`);
  if (!Number.isNaN(until) && now >= until) return refuse(`expired at ${cert.validUntil.toISOString()}`);
  // sshpk reads an empty principal list as "*"; sshd refuses a certificate without principals, and so do we.
  if (!cert.subjects.some((subject) => subject.uid === check.node)) return refuse(`node ${check.node} is not among its principals`);
  for (const ext of openssh.exts) {
    if (!ext.critical) continue;
    if (!ENFORCED_CRITICAL_OPTIONS.has(ext.name)) return refuse(`critical option ${ext.name} is not supported`);
    const allowed = sourceAddressAllows(ext.data, check.remoteAddress);
    if (allowed !== true) return refuse(allowed);
  }
  return { ok: true, subjectKey: sshpk.parseKey(subjectBlob, 'rfc4253'), description: `${description} signed by CA ${ca.fingerprint}` };
}

/**
 * A certificate blob ends with the signing key and the signature (PROTOCOL.certkeys): the signed part is
 * everything before the signature, and the signing key must be this CA's, byte for byte.
 */
function signedBy(blob: Buffer, ca: TrustedUserCA): boolean {
  const keyField = lengthPrefixed(ca.blob);
  const keyAt = blob.lastIndexOf(keyField);
  if (keyAt < 0) return false;
  const signatureAt = keyAt + keyField.length;
  if (signatureAt + 4 > blob.length || signatureAt + 4 + blob.readUInt32BE(signatureAt) !== blob.length) return false;
  try {
    const signature = sshpk.parseSignature(blob.subarray(signatureAt + 4), ca.key.type as sshpk.AlgorithmType, 'ssh');
    // OpenSSH (8.2+) no longer accepts SHA-1 RSA signatures from a CA.
    if (signature.hashAlgorithm === 'sha1') return false;
    const verifier = ca.key.createVerify(signature.hashAlgorithm);
    verifier.update(blob.subarray(0, signatureAt));
    return verifier.verify(signature);
  } catch {
    return false;
  }
}

/** The source-address option: a string holding a comma-separated list of addresses and CIDR blocks. */
function sourceAddressAllows(data: Buffer, remoteAddress: string): true | string {
  if (data.length < 4 || 4 + data.readUInt32BE(0) !== data.length) return 'malformed source-address option';
  const list = data.toString('utf8', 4);
  for (const entry of list.split(',')) {
    const text = entry.trim();
    const block = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    if (!block || (!text.includes('/') && !isIp(text))) return `malformed source-address entry "${text}"`;
    if (block.contains(remoteAddress)) return true;
  }
  return `source address ${remoteAddress} is not in its source-address list (${list})`;
}

function lengthPrefixed(data: Buffer): Buffer {
  const out = Buffer.alloc(4 + data.length);
  out.writeUInt32BE(data.length, 0);
  data.copy(out, 4);
  return out;
}
