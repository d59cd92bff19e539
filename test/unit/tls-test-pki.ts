// Certificates the simulator's CA cannot make: client certificates, chosen validity, ECDSA keys.
// forge signs (Node cannot); Node generates the keys (forge's pure-JS RSA takes seconds, and it has no EC).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';

export interface IssueOptions {
  commonName: string;
  organization?: string;
  ips?: string[];
  dnsNames?: string[];
  /** 'server' (default) or 'client' extended key usage. */
  usage?: 'server' | 'client';
  notBefore?: Date;
  notAfter?: Date;
  keyType?: 'rsa' | 'ec';
}

export interface TestCa {
  certPem: string;
  issue(options: IssueOptions): { certPem: string; keyPem: string };
}

const DAY = 24 * 3600 * 1000;
const { asn1 } = forge;

function keyPair(type: 'rsa' | 'ec'): { spkiDer: Buffer; keyPem: string } {
  const { publicKey, privateKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** Signs `cert` with `caKey`, carrying `spkiDer` as its public key (forge itself can only write RSA keys). */
function signWithKey(cert: forge.pki.Certificate, spkiDer: Buffer, caKey: forge.pki.rsa.PrivateKey): string {
  cert.publicKey = forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('1', 10), new forge.jsbn.BigInteger('65537', 10));
  cert.sign(caKey, forge.md.sha256.create()); // fills in the signature algorithm fields
  // getTBSCertificate exists in forge but not in its type declarations.
  const tbs = (forge.pki as unknown as { getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  (tbs.value as forge.asn1.Asn1[])[6] = asn1.fromDer(spkiDer.toString('binary'));
  const md = forge.md.sha256.create();
  md.update(asn1.toDer(tbs).getBytes());
  const signature = caKey.sign(md);
  const algorithm = (forge.pki.certificateToAsn1(cert).value as forge.asn1.Asn1[])[1]!;
  const whole = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm,
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, String.fromCharCode(0) + signature),
  ]);
  const der = asn1.toDer(whole).getBytes();
  return `-----BEGIN CERTIFICATE-----\n${forge.util.encode64(der, 64).replace(/\r\n/g, '\n')}\n-----END CERTIFICATE-----\n`;
}

function base(commonName: string, notBefore: Date, notAfter: Date, organization?: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject([
    ...(organization ? [{ shortName: 'O', value: organization }] : []),
    { shortName: 'CN', value: commonName },
  ]);
  return cert;
}

export function createTestCa(commonName: string, validity: { notBefore?: Date; notAfter?: Date } = {}): TestCa {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const caKey = forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  const caCert = base(commonName, validity.notBefore ?? new Date(Date.now() - 60_000), validity.notAfter ?? new Date(Date.now() + 365 * DAY));
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const certPem = signWithKey(caCert, publicKey.export({ type: 'spki', format: 'der' }), caKey);
  return {
    certPem,
    issue(o) {
      const keys = keyPair(o.keyType ?? 'rsa');
      const cert = base(o.commonName, o.notBefore ?? new Date(Date.now() - 60_000), o.notAfter ?? new Date(Date.now() + 30 * DAY), o.organization);
      cert.setIssuer(caCert.subject.attributes);
      const altNames = [...(o.ips ?? []).map((ip) => ({ type: 7, ip })), ...(o.dnsNames ?? []).map((value) => ({ type: 2, value }))];
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        o.usage === 'client' ? { name: 'extKeyUsage', clientAuth: true } : { name: 'extKeyUsage', serverAuth: true },
        ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
      ]);
      return { certPem: signWithKey(cert, keys.spkiDer, caKey), keyPem: keys.keyPem };
    },
  };
}
