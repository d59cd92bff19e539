import forge from 'node-forge';

/**
 * Reads an X.509 certificate with node-forge whatever its key type. forge only understands RSA public keys
 * and throws on the rest, but kubelets that rotate their serving certificate use ECDSA P-256 keys: so a
 * non-RSA key is swapped for a placeholder before forge reads the certificate, and described separately.
 * The result is for reading fields only; its publicKey (and any signature check with it) is meaningless
 * unless `publicKeyAlgorithm` starts with "RSA".
 */

export interface ForgeCertificate {
  cert: forge.pki.Certificate;
  /** "RSA 2048", "ECDSA P-256", "Ed25519", or the algorithm's OID when unknown. */
  publicKeyAlgorithm: string;
}

const { asn1 } = forge;

const RSA = '1.2.840.113549.1.1.1';
const EC = '1.2.840.10045.2.1';
const CURVES: Readonly<Record<string, string>> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};
const OTHER_KEYS: Readonly<Record<string, string>> = {
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
  '1.2.840.10040.4.1': 'DSA',
};

let placeholder: forge.asn1.Asn1 | undefined;
/** A syntactically valid RSA SubjectPublicKeyInfo (n = 1): only there to get past forge's key-type check. */
function placeholderKey(): forge.asn1.Asn1 {
  placeholder ??= forge.pki.publicKeyToAsn1(
    forge.pki.setRsaPublicKey(new forge.jsbn.BigInteger('1', 10), new forge.jsbn.BigInteger('65537', 10)),
  );
  // forge may keep references into the tree it is given: hand out a fresh copy each time.
  return asn1.fromDer(asn1.toDer(placeholder));
}

/** Throws forge's own Error when the DER is not a certificate. */
export function readCertificate(der: Buffer): ForgeCertificate {
  const root = asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
  const tbs = children(root)[0];
  const fields = tbs ? children(tbs) : [];
  // TBSCertificate: [0] version (optional), serial, signature, issuer, validity, subject, subjectPublicKeyInfo...
  const first = fields[0];
  const hasVersion = first !== undefined && first.tagClass === asn1.Class.CONTEXT_SPECIFIC && first.type === 0;
  const spkiIndex = hasVersion ? 6 : 5;
  const spki = fields[spkiIndex];
  const algorithm = spki ? children(spki)[0] : undefined;
  const [oidNode, params] = algorithm ? children(algorithm) : [];
  if (!oidNode || oidNode.type !== asn1.Type.OID) throw new Error('Cannot read X.509 certificate: no subject public key');
  const oid = asn1.derToOid(oidNode.value as string);

  if (oid === RSA) {
    const cert = forge.pki.certificateFromAsn1(root);
    return { cert, publicKeyAlgorithm: `RSA ${(cert.publicKey as forge.pki.rsa.PublicKey).n.bitLength()}` };
  }
  let publicKeyAlgorithm = OTHER_KEYS[oid] ?? oid;
  if (oid === EC) {
    const curve = params && params.type === asn1.Type.OID ? asn1.derToOid(params.value as string) : undefined;
    publicKeyAlgorithm = `ECDSA ${curve === undefined ? 'explicit curve' : CURVES[curve] ?? curve}`;
  }
  (tbs!.value as forge.asn1.Asn1[])[spkiIndex] = placeholderKey();
  return { cert: forge.pki.certificateFromAsn1(root), publicKeyAlgorithm };
}

function children(node: forge.asn1.Asn1): forge.asn1.Asn1[] {
  return Array.isArray(node.value) ? node.value : [];
}
