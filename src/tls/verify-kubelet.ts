import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type tls from 'node:tls';
import { describeCertificate, describeX509Certificate, type CertificateInfo } from './certificate-info.js';

/**
 * The verdict on a kubelet's serving certificate after a TLS handshake, in plain words for status pages,
 * logs and the CLI's check. Names are checked OpenSSH-style, "IP or name": the node's address or its name
 * must be among the certificate's SANs. The name check is X509Certificate's checkHost/checkIP rather than
 * tls.checkServerIdentity, which falls back to the CN when the SANs hold only IP addresses: Go's crypto/tls
 * (kube-apiserver) never looks at the CN, and neither do we.
 */

/** A stable label for what was wrong (for metrics and switches); the message is in `reason`. */
export type KubeletTlsProblem =
  | 'untrusted'
  | 'name-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'wrong-purpose'
  | 'no-certificate'
  | 'client-cert-refused'
  | 'rejected';

export interface KubeletTlsResult {
  authorized: boolean;
  problem?: KubeletTlsProblem;
  /** e.g. "kubelet certificate does not name 198.18.0.11 or n1 (SANs: DNS:n2, IP:198.18.0.12)". */
  reason?: string;
  /** What the kubelet presented; absent only when it presented nothing. */
  certificate?: CertificateInfo;
}

/** OpenSSL verify results that all mean "no chain to a CA we trust". */
const UNTRUSTED = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
]);

/** Node's own name-check failure; we repeat the check with every acceptable name instead. */
const NAME_MISMATCH = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * Judges a TLS socket whose handshake finished (call it on 'secureConnect'; for the verdict to cover the
 * chain, connect with `rejectUnauthorized: false` so Node reports rather than destroys). `expected` is the
 * node's address, or several acceptable names (address and node name): one of them must be in the SANs.
 */
export function checkKubeletTls(socket: tls.TLSSocket, expected: string | readonly string[]): KubeletTlsResult {
  const names = typeof expected === 'string' ? [expected] : [...expected];
  const peer = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | null;
  if (!peer || !peer.raw) {
    return { authorized: false, problem: 'no-certificate', reason: 'kubelet presented no certificate' };
  }
  let x509: X509Certificate;
  let certificate: CertificateInfo;
  try {
    x509 = new X509Certificate(peer.raw);
    certificate = describeX509Certificate(x509);
  } catch (err) {
    // Fail closed: what cannot be read cannot be reported or trusted by status pages either.
    return { authorized: false, problem: 'rejected', reason: `kubelet certificate cannot be read: ${(err as Error).message}` };
  }
  const code = socket.authorized ? undefined : String(socket.authorizationError ?? 'unknown error');
  if (code !== undefined && code !== NAME_MISMATCH) {
    const { problem, reason } = chainVerdict(code, certificate, peer);
    return { authorized: false, problem, reason, certificate };
  }
  const mismatch = identityError(names, x509, certificate);
  if (mismatch) return { authorized: false, problem: 'name-mismatch', reason: mismatch, certificate };
  return { authorized: true, certificate };
}

/**
 * A `checkServerIdentity` for tls.connect that accepts the certificate when any of `names` (the node's
 * address and its name) is in its SANs. Its error has Node's code and our plain reason as message.
 */
export function kubeletIdentityCheck(names: readonly string[]): (host: string, cert: tls.PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    let mismatch: string | undefined;
    try {
      const x509 = new X509Certificate(cert.raw);
      mismatch = identityError(names, x509, describeX509Certificate(x509));
    } catch (err) {
      mismatch = `kubelet certificate cannot be read: ${(err as Error).message}`;
    }
    return mismatch === undefined ? undefined : Object.assign(new Error(mismatch), { code: NAME_MISMATCH, cert });
  };
}

/** Go's rules: SANs only, and a wildcard only as a whole leftmost label ("*.example.com"). */
const HOST_CHECK = { subject: 'never', partialWildcards: false } as const;

function identityError(names: readonly string[], cert: X509Certificate, info: CertificateInfo): string | undefined {
  const unique = [...new Set(names.filter((n) => n !== ''))];
  const wanted = unique.join(' or ');
  if (cert.subjectAltName === undefined) {
    const cn = info.subject.commonName;
    return `kubelet certificate does not name ${wanted} (it has no SANs${cn ? `; its CN ${cn} does not count` : ''})`;
  }
  const named = (name: string): boolean => (isIP(name) ? cert.checkIP(name) : cert.checkHost(name, HOST_CHECK)) !== undefined;
  if (unique.some(named)) return undefined;
  return `kubelet certificate does not name ${wanted} (SANs: ${info.subjectAltNames.join(', ')})`;
}

function chainVerdict(code: string, leaf: CertificateInfo, peer: tls.DetailedPeerCertificate): { problem: KubeletTlsProblem; reason: string } {
  if (UNTRUSTED.has(code)) {
    const by = leaf.selfSigned ? `it is self-signed: ${leaf.subject.text}` : `issued by ${leaf.issuer.text}`;
    return { problem: 'untrusted', reason: `kubelet certificate not signed by the configured CA (${by}; ${code})` };
  }
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') return validityVerdict(code, peer);
  if (code === 'CERT_REVOKED') return { problem: 'revoked', reason: 'kubelet certificate has been revoked' };
  if (code === 'INVALID_PURPOSE') {
    return { problem: 'wrong-purpose', reason: 'kubelet certificate is not for TLS servers (its extended key usage lacks serverAuth)' };
  }
  return { problem: 'rejected', reason: `kubelet certificate rejected (${code})` };
}

/** OpenSSL does not say which certificate is out of date: find it in the chain Node hands us. */
function validityVerdict(code: 'CERT_HAS_EXPIRED' | 'CERT_NOT_YET_VALID', peer: tls.DetailedPeerCertificate): { problem: KubeletTlsProblem; reason: string } {
  const now = Date.now();
  const seen = new Set<tls.DetailedPeerCertificate>();
  for (let c: tls.DetailedPeerCertificate | undefined = peer, depth = 0; c && !seen.has(c); c = c.issuerCertificate, depth++) {
    seen.add(c);
    let info: CertificateInfo;
    try {
      info = describeCertificate(c.raw);
    } catch {
      continue; // an unreadable CA cannot be named; the generic message below still applies
    }
    const whose = depth === 0 ? 'kubelet certificate' : `kubelet certificate's issuer ${info.subject.text}`;
    if (code === 'CERT_HAS_EXPIRED' && Date.parse(info.notAfter) < now) {
      return { problem: 'expired', reason: `${whose} expired on ${info.notAfter}` };
    }
    if (code === 'CERT_NOT_YET_VALID' && Date.parse(info.notBefore) > now) {
      return { problem: 'not-yet-valid', reason: `${whose} is not valid before ${info.notBefore} (check the clocks)` };
    }
  }
  return code === 'CERT_HAS_EXPIRED'
    ? { problem: 'expired', reason: 'a certificate in the kubelet certificate\'s chain has expired' }
    : { problem: 'not-yet-valid', reason: 'a certificate in the kubelet certificate\'s chain is not valid yet (check the clocks)' };
}
