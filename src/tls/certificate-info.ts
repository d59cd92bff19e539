import { createHash } from 'node:crypto';
import type forge from 'node-forge';
import { readCertificate } from './forge-certificate.js';
import { pemBlocks } from './pem.js';
import { TlsConfigError } from './tls-config-error.js';

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

/** Describes one certificate: PEM text (the first certificate in it), or DER bytes. Throws forge's Error when unreadable. */
export function describeCertificate(certPemOrDer: string | Buffer, now: Date = new Date()): CertificateInfo {
  return describeDer(toDer(certPemOrDer), now);
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
      return describeDer(block.der, now);
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

function describeDer(der: Buffer, now: Date): CertificateInfo {
  const { cert, publicKeyAlgorithm } = readCertificate(der);
  const sans = subjectAltNames(cert);
  const subject = distinguishedName(cert.subject.attributes);
  const issuer = distinguishedName(cert.issuer.attributes);
  const constraints = cert.getExtension('basicConstraints') as { cA?: boolean } | undefined;
  return {
    subject,
    issuer,
    subjectAltNames: sans.display,
    dnsNames: sans.dns,
    ipAddresses: sans.ips,
    notBefore: isoSeconds(cert.validity.notBefore),
    notAfter: isoSeconds(cert.validity.notAfter),
    daysToExpiry: Math.floor((cert.validity.notAfter.getTime() - now.getTime()) / DAY_MS),
    serialNumber: cert.serialNumber.toUpperCase().replace(/^(00)+(?=..)/, ''),
    fingerprintSha256: createHash('sha256').update(der).digest('hex').toUpperCase().replace(/(..)(?!$)/g, '$1:'),
    publicKey: publicKeyAlgorithm,
    isCA: constraints?.cA === true,
    selfSigned: subject.text === issuer.text,
  };
}

export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface AltName {
  type: number;
  value?: string;
  ip?: string;
}

function subjectAltNames(cert: forge.pki.Certificate): { display: string[]; dns: string[]; ips: string[] } {
  const ext = cert.getExtension('subjectAltName') as { altNames?: AltName[] } | undefined;
  const out = { display: [] as string[], dns: [] as string[], ips: [] as string[] };
  for (const name of ext?.altNames ?? []) {
    // GeneralName tags (RFC 5280 4.2.1.6): 1 rfc822Name, 2 dNSName, 6 URI, 7 iPAddress.
    if (name.type === 2 && name.value !== undefined) {
      out.dns.push(name.value);
      out.display.push(`DNS:${name.value}`);
    } else if (name.type === 7) {
      const ip = name.ip ?? '(malformed)';
      out.ips.push(ip);
      out.display.push(`IP:${ip}`);
    } else if (name.type === 6 && name.value !== undefined) {
      out.display.push(`URI:${name.value}`);
    } else if (name.type === 1 && name.value !== undefined) {
      out.display.push(`email:${name.value}`);
    }
  }
  return out;
}

interface RdnAttribute {
  type?: string;
  shortName?: string;
  name?: string;
  value?: unknown;
}

function distinguishedName(attributes: readonly RdnAttribute[]): DistinguishedName {
  const cn = attributes.find((a) => a.shortName === 'CN');
  const parts = attributes.map((a) => `${a.shortName ?? a.type ?? a.name ?? '?'}=${escapeRdnValue(String(a.value ?? ''))}`);
  return { commonName: cn === undefined ? undefined : String(cn.value), text: parts.reverse().join(',') };
}

/** RFC 4514 section 2.4: so a CN holding "," or "+" cannot pass for several attributes. */
function escapeRdnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, '\\$&')
    .replace(/^[ #]/, '\\$&')
    .replace(/ $/, '\\ ');
}
