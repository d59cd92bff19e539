import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { TlsConfigError } from '../../src/tls/tls-config-error.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { describeCertificate, describeCertificates } from '../../src/tls/certificate-info.js';
import { createTestCa } from './tls-test-pki.js';

const DAY = 24 * 3600 * 1000;
const ca = await createClusterCa('ssh-egress test CA');
const leaf = await ca.issue({ commonName: 'n1', ips: ['198.18.0.11'], dnsNames: ['n1', 'n1.cluster.local'] });

describe('describeCertificate', () => {
  it('reports subject, issuer, SANs, validity and days to expiry', () => {
    const info = describeCertificate(leaf.certPem);
    assert.deepEqual(info.subject, { commonName: 'n1', text: 'CN=n1' });
    assert.deepEqual(info.issuer, { commonName: 'ssh-egress test CA', text: 'CN=ssh-egress test CA' });
    assert.deepEqual(info.subjectAltNames, ['IP:198.18.0.11', 'DNS:n1', 'DNS:n1.cluster.local']);
    assert.deepEqual(info.ipAddresses, ['198.18.0.11']);
    assert.deepEqual(info.dnsNames, ['n1', 'n1.cluster.local']);
    // The simulator issues for 365 days from now; a few ms have passed, so the floor is 364.
    assert.equal(info.daysToExpiry, 364);
    assert.match(info.notAfter, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(info.publicKey, 'RSA 2048');
    assert.equal(info.isCA, false);
    assert.equal(info.selfSigned, false);
  });

  it('agrees with Node on fingerprint, serial and validity', () => {
    const info = describeCertificate(leaf.certPem);
    const x509 = new X509Certificate(leaf.certPem);
    assert.equal(info.fingerprintSha256, x509.fingerprint256);
    assert.equal(info.serialNumber, x509.serialNumber);
    assert.equal(Date.parse(info.notAfter), Date.parse(x509.validTo));
    assert.equal(Date.parse(info.notBefore), Date.parse(x509.validFrom));
  });

  it('takes DER as well as PEM', () => {
    const der = new X509Certificate(leaf.certPem).raw;
    assert.deepEqual(describeCertificate(der), describeCertificate(leaf.certPem));
    assert.deepEqual(describeCertificate(Buffer.from(leaf.certPem)), describeCertificate(leaf.certPem));
  });

  it('counts days from the given time: negative once expired', () => {
    const notAfter = Date.parse(describeCertificate(leaf.certPem).notAfter);
    assert.equal(describeCertificate(leaf.certPem, new Date(notAfter + 1000)).daysToExpiry, -1);
    assert.equal(describeCertificate(leaf.certPem, new Date(notAfter - 10 * DAY - 1000)).daysToExpiry, 10);
  });

  it('reads ECDSA certificates (kubelets that rotate their serving certificate use P-256 keys)', () => {
    const test = createTestCa('EC issuing CA');
    const ec = test.issue({ commonName: 'system:node:n1', organization: 'system:nodes', ips: ['fd00::11'], keyType: 'ec' });
    const info = describeCertificate(ec.certPem);
    assert.equal(info.publicKey, 'ECDSA P-256');
    assert.equal(info.subject.text, 'CN=system:node:n1,O=system:nodes');
    assert.deepEqual(info.ipAddresses, ['fd00::11']);
    assert.equal(info.fingerprintSha256, new X509Certificate(ec.certPem).fingerprint256);
  });

  it("reads SAN values Node quotes (a comma in a name), and shows IPv6 SANs compressed", () => {
    const odd = createTestCa('CA').issue({ commonName: 'n1', dnsNames: ['n1', 'a,DNS:b'], ips: ['fd00:0:0::7'] });
    const info = describeCertificate(odd.certPem);
    assert.deepEqual(info.subjectAltNames, ['IP:fd00::7', 'DNS:n1', 'DNS:a,DNS:b']);
    assert.deepEqual(info.dnsNames, ['n1', 'a,DNS:b']);
  });

  it('escapes DN special characters so one attribute cannot pass for several', () => {
    const test = createTestCa('CA');
    const odd = test.issue({ commonName: 'a,O=evil+x', dnsNames: ['a'] });
    assert.equal(describeCertificate(odd.certPem).subject.text, 'CN=a\\,O\\=evil\\+x');
  });

  it('a CA certificate is marked CA and self-signed', () => {
    const info = describeCertificate(ca.certPem);
    assert.equal(info.isCA, true);
    assert.equal(info.selfSigned, true);
  });
});

describe('describeCertificates', () => {
  const other = createTestCa('second CA');

  it('describes every certificate of a bundle, ignoring text between them', () => {
    const bundle = `# cluster CA\nsubject=CN = ssh-egress test CA\n${ca.certPem}\n${other.certPem}`;
    assert.deepEqual(
      describeCertificates(bundle).map((c) => c.subject.commonName),
      ['ssh-egress test CA', 'second CA'],
    );
  });

  it('reads a bundle with CRLF line ends', () => {
    assert.equal(describeCertificates(ca.certPem.replace(/\n/g, '\r\n')).length, 1);
  });

  it('an empty bundle is an error', () => {
    assert.throws(() => describeCertificates('', 'ca.crt'), (err: unknown) => {
      assert.ok(err instanceof TlsConfigError);
      assert.equal(err.code, 'ERR_TLS_CONFIG');
      assert.equal(err.message, 'ca.crt holds no PEM certificate (it is empty)');
      return true;
    });
    assert.throws(() => describeCertificates(Buffer.from([0x30, 0x82, 0x01]), 'ca.der'), /ca\.der holds no PEM certificate \(no "-----BEGIN CERTIFICATE-----" line/);
  });

  it('names the certificate that does not parse', () => {
    const broken = other.certPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    assert.throws(() => describeCertificates(ca.certPem + broken, 'ca.crt'), /^TlsConfigError: ca\.crt: certificate 2 of 2 cannot be read: /);
  });

  it('names a block that is not a certificate, and a truncated one', () => {
    assert.throws(() => describeCertificates(ca.certPem + leaf.keyPem, 'ca.crt'), /ca\.crt: certificate 2 of 2 is a RSA PRIVATE KEY, not a CERTIFICATE/);
    const truncated = ca.certPem + other.certPem.slice(0, 200);
    assert.throws(() => describeCertificates(truncated, 'ca.crt'), /ca\.crt: block 2 has no matching END line/);
  });
});
