import { generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

/** A PEM certificate and its private key, ready for `tls.createServer`. */
export interface TlsCredentials {
  certPem: string;
  keyPem: string;
}

/** Names a serving certificate is valid for. */
export interface ServingIdentity {
  commonName: string;
  ips: string[];
  dnsNames: string[];
}

export interface ClusterCa {
  certPem: string;
  /** Issues a serving certificate (serverAuth) signed by this CA. */
  issue(identity: ServingIdentity): Promise<TlsCredentials>;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const VALIDITY_MS = 365 * 24 * 3600 * 1000;

/**
 * RSA keys come from Node's native generator (forge's pure-JS one takes seconds);
 * forge only builds and signs the certificates, which Node cannot do.
 */
async function rsaKeyPair(): Promise<{ publicPem: string; privatePem: string }> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  return { publicPem: publicKey, privatePem: privateKey };
}

function newCertificate(publicPem: string, commonName: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A leading 01 keeps the DER integer positive, as RFC 5280 requires.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  // Backdated a minute so a slightly skewed clock does not reject a fresh certificate.
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + VALIDITY_MS);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

/** Creates the CA that signs every fake kubelet's serving certificate. */
export async function createClusterCa(commonName = 'ssh-egress simulated cluster CA'): Promise<ClusterCa> {
  const caKeys = await rsaKeyPair();
  const caKey = forge.pki.privateKeyFromPem(caKeys.privatePem);
  const caCert = newCertificate(caKeys.publicPem, commonName);
  caCert.setIssuer(caCert.subject.attributes);
  caCert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  caCert.sign(caKey, forge.md.sha256.create());

  return {
    certPem: forge.pki.certificateToPem(caCert),
    async issue(identity: ServingIdentity): Promise<TlsCredentials> {
      const keys = await rsaKeyPair();
      const cert = newCertificate(keys.publicPem, identity.commonName);
      cert.setIssuer(caCert.subject.attributes);
      cert.setExtensions([
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        {
          name: 'subjectAltName',
          altNames: [
            ...identity.ips.map((ip) => ({ type: 7, ip })),
            ...identity.dnsNames.map((value) => ({ type: 2, value })),
          ],
        },
      ]);
      cert.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(cert), keyPem: keys.privatePem };
    },
  };
}
