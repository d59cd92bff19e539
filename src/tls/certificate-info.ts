import { X509Certificate } from 'node:crypto';
import { normalizeIp } from '../net/address.js';
import { pemBlocks } from './pem.js';
import { TlsConfigError } from './tls-config-error.js';

/*
 * Certificates are read with Node's X509Certificate (OpenSSL), not node-forge: it reads every key type
 * (forge reads only RSA keys and needed a placeholder key swapped in for ECDSA kubelet certificates), it
 * is the parser the TLS handshake itself used, and it offers checkHost/checkIP/checkIssued. What it lacks is
 * structured names: subject and SANs come as printed text, which Node escapes (RFC 2253) and JSON-quotes so
 * it can be read back safely; the two small readers below do that. CPU per certificate is alike and small
 * either way (Node 20, interleaved, 5 rounds of 2,000: X509Certificate 144-217 us, forge 55-155 us),
 * against milliseconds for the TLS handshake of the kubelet probe that needs it.
 */

/** What status pages and `check` show about a certificate (a kubelet's, or one in a CA bundle). */
export interface CertificateInfo {
  subject: DistinguishedName;
  issuer: DistinguishedName;
  /** Display form, in certificate order: "DNS:n1", "IP:198.18.0.11", "URI:...", "email:...". */
  subjectAltNames: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** ISO 8601 to the second, e.g. "2026-05-01T12:00:00Z". */
  notBefore: string;
  notAfter: string;
  /** Whole days left (floor); negative once expired. */
  daysToExpiry: number;
  /** Upper-case hex without leading zero bytes, as openssl and Node print it. */
  serialNumber: string;
  /** SHA-256 of the DER, "AB:CD:...", as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprintSha256: string;
  /** "RSA 2048", "ECDSA P-256", "Ed25519"... */
  publicKey: string;
  isCA: boolean;
  selfSigned: boolean;
}

export interface DistinguishedName {
  commonName: string | undefined;
  /** RFC 4514 string, most specific first as Go and openssl -nameopt RFC2253 print it: "CN=n1,O=system:nodes". */
  text: string;
}

const DAY_MS = 24 * 3600 * 1000;

/** Describes one certificate: PEM text (the first certificate in it), or DER bytes. Throws Node's Error when unreadable. */
export function describeCertificate(certPemOrDer: string | Buffer, now: Date = new Date()): CertificateInfo {
  return describeX509Certificate(new X509Certificate(toDer(certPemOrDer)), now);
}

/**
 * Describes every certificate of a PEM bundle (a CA file may hold several). Each must be readable and the
 * bundle must hold at least one; otherwise a TlsConfigError says which, prefixed with `source` (e.g. the file).
 */
export function describeCertificates(bundlePem: string | Buffer, source = 'certificate bundle', now: Date = new Date()): CertificateInfo[] {
  const text = bundlePem.toString();
  let blocks;
  try {
    blocks = pemBlocks(text);
  } catch (err) {
    throw new TlsConfigError(`${source}: ${(err as Error).message}`, { cause: err });
  }
  if (blocks.length === 0) {
    const hint = text.trim() === '' ? 'it is empty' : 'no "-----BEGIN CERTIFICATE-----" line; a DER file must be converted to PEM';
    throw new TlsConfigError(`${source} holds no PEM certificate (${hint})`);
  }
  return blocks.map((block, i) => {
    const which = `certificate ${i + 1} of ${blocks.length}`;
    if (block.type !== 'CERTIFICATE') {
      throw new TlsConfigError(`${source}: ${which} is a ${block.type}, not a CERTIFICATE`);
    }
    try {
      return describeX509Certificate(new X509Certificate(block.der), now);
    } catch (err) {
      throw new TlsConfigError(`${source}: ${which} cannot be read: ${(err as Error).message}`, { cause: err });
    }
  });
}

function toDer(input: string | Buffer): Buffer {
  const text = typeof input === 'string' ? input : input.subarray(0, 64).toString('latin1');
  if (!text.includes('-----BEGIN')) {
    if (typeof input === 'string') throw new Error('not a PEM certificate');
    return input;
  }
  const block = pemBlocks(input.toString()).find((b) => b.type === 'CERTIFICATE');
  if (!block) throw new Error('no CERTIFICATE block in the PEM text');
  return block.der;
}

/** Describes a certificate Node has already read (one parse serves both the description and name checks). */
export function describeX509Certificate(cert: X509Certificate, now: Date = new Date()): CertificateInfo {
  const sans = subjectAltNames(cert.subjectAltName);
  const notAfter = new Date(cert.validTo);
  return {
    subject: distinguishedName(cert.subject),
    issuer: distinguishedName(cert.issuer),
    subjectAltNames: sans.display,
    dnsNames: sans.dns,
    ipAddresses: sans.ips,
    notBefore: isoSeconds(new Date(cert.validFrom)),
    notAfter: isoSeconds(notAfter),
    daysToExpiry: Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS),
    serialNumber: cert.serialNumber.replace(/^(00)+(?=..)/, ''),
    fingerprintSha256: cert.fingerprint256,
    publicKey: publicKeyAlgorithm(cert),
    isCA: cert.ca,
    selfSigned: cert.checkIssued(cert),
  };
}

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Node prints SANs as "DNS:n1, IP Address:198.18.0.11, URI:..., email:...", and JSON-quotes a value that
 * holds a comma, a quote or non-ASCII, so the separator cannot be forged. Other kinds (DirName, othername)
 * are not shown.
 */
const ALT_NAME = /(?:^|, )([A-Za-z0-9 ]+):("(?:[^"\\]|\\.)*"|[^,]*)/y;

function subjectAltNames(text: string | undefined): { display: string[]; dns: string[]; ips: string[] } {
  const out = { display: [] as string[], dns: [] as string[], ips: [] as string[] };
  ALT_NAME.lastIndex = 0;
  for (let m = ALT_NAME.exec(text ?? ''); m; m = ALT_NAME.exec(text ?? '')) {
    const [, kind, raw = ''] = m;
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
    if (kind === 'DNS') {
      out.dns.push(value);
      out.display.push(`DNS:${value}`);
    } else if (kind === 'IP Address') {
      // Node writes IPv6 uncompressed and upper-case ("FD00:0:0:0:0:0:0:11").
      const ip = normalizeIp(value) ?? '(malformed)';
      out.ips.push(ip);
      out.display.push(`IP:${ip}`);
    } else if (kind === 'URI' || kind === 'email') {
      out.display.push(`${kind}:${value}`);
    }
  }
  return out;
}

const CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

function publicKeyAlgorithm(cert: X509Certificate): string {
  let key;
  try {
    key = cert.publicKey;
  } catch {
    return 'unknown'; // a key type OpenSSL cannot load, e.g. an explicit EC curve
  }
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA ${details.modulusLength}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength}`;
    case 'dsa':
      return `DSA ${details.modulusLength}`;
    case 'ec':
      return `ECDSA ${CURVES[details.namedCurve ?? ''] ?? details.namedCurve}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return String(key.asymmetricKeyType);
  }
}

/**
 * Node prints a name in certificate order, one RDN a line, " + " between the values of a multi-valued
 * RDN, values escaped as RFC 2253 asks (control characters as \\XX hex; an unescaped "+" is always a
 * separator). We turn that around into the RFC 4514 string Go prints: most specific first, each value
 * escaped again our way.
 */
const ATTRIBUTE = /(?:^| \+ )([^=]+)=((?:\\.|[^\\+])*?)(?= \+ |$)/g;

function distinguishedName(printed: string): DistinguishedName {
  let commonName: string | undefined;
  const rdns = printed === '' ? [] : printed.split('\n');
  const text = rdns
    .map((rdn) =>
      [...rdn.matchAll(ATTRIBUTE)]
        .map(([, type = '', escaped = '']) => {
          const value = escaped.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_, c: string) => (c.length === 2 ? String.fromCharCode(parseInt(c, 16)) : c));
          if (type === 'CN') commonName ??= value;
          return `${type}=${escapeRdnValue(value)}`;
        })
        .join('+'),
    )
    .reverse()
    .join(',');
  return { commonName, text };
}

/** RFC 4514 section 2.4: so a CN holding "," or "+" cannot pass for several attributes. */
function escapeRdnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, '\\$&')
    .replace(/^[ #]/, '\\$&')
    .replace(/ $/, '\\ ');
}
