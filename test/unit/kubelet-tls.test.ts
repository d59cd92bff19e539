import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type tls from 'node:tls';
import { DialAbortedError, DialTimeoutError } from '../../src/errors.js';
import { TlsConfigError } from '../../src/tls/tls-config-error.js';
import { KubeletCertificateError } from '../../src/tls/kubelet-certificate-error.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { loadKubeletTls } from '../../src/tls/kubelet-tls.js';
import { probeKubelet } from '../../src/tls/probe-kubelet.js';
import { kubeletIdentityCheck } from '../../src/tls/verify-kubelet.js';
import { createTestCa } from './tls-test-pki.js';

const dir = mkdtempSync(join(tmpdir(), 'kubelet-tls-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const NODE = { name: 'n1', address: '127.0.0.1' };
const DAY = 24 * 3600 * 1000;

const clusterCa = await createClusterCa('kubelet CA');
const otherCa = await createClusterCa('some other CA');
const kubelet = await clusterCa.issue({ commonName: 'n1', ips: ['127.0.0.1'], dnsNames: ['n1'] });
const clientCa = createTestCa('kubelet client CA');
const apiserverClient = clientCa.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usage: 'client' });

function file(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  return path;
}

const caFile = file('ca.crt', clusterCa.certPem, 0o644);
const otherCaFile = file('other-ca.crt', otherCa.certPem, 0o644);
const clientCertFile = file('client.crt', apiserverClient.certPem, 0o644);
const clientKeyFile = file('client.key', apiserverClient.keyPem);

interface Served {
  port: number;
  /** Requests that reached the handler: none may, when the certificate was refused. */
  requests: string[];
}
const servers: https.Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A kubelet stand-in on 127.0.0.1; `requireClient` makes it demand a client certificate from clientCa. */
async function serve(creds: { certPem: string; keyPem: string }, requireClient = false): Promise<Served> {
  const requests: string[] = [];
  const options: https.ServerOptions = { cert: creds.certPem, key: creds.keyPem };
  if (requireClient) Object.assign(options, { requestCert: true, rejectUnauthorized: true, ca: clientCa.certPem });
  const server = https.createServer(options, (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests };
}

/** A plain TCP socket stands in for a tunnel stream. */
function stream(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.once('error', reject);
  });
}

async function refused(served: Served, tlsOptions: tls.ConnectionOptions, node = NODE): Promise<KubeletCertificateError> {
  const err = await probeKubelet(await stream(served.port), node, tlsOptions).catch((e: unknown) => e);
  assert.ok(err instanceof KubeletCertificateError, String(err));
  assert.equal(err.code, 'ERR_KUBELET_CERT');
  assert.equal(err.node, node.name);
  return err;
}

describe('probeKubelet', () => {
  it('verifies the kubelet against the configured CA and reports its certificate', async () => {
    const served = await serve(kubelet);
    const result = await probeKubelet(await stream(served.port), NODE, await loadKubeletTls({ caFile }));
    assert.equal(result.status, 200);
    assert.equal(result.authorized, true);
    assert.equal(result.reason, undefined);
    assert.ok(result.rttMs >= 0 && result.handshakeMs > 0);
    assert.equal(result.certificate.subject.commonName, 'n1');
    assert.equal(result.certificate.issuer.commonName, 'kubelet CA');
    assert.deepEqual(result.certificate.subjectAltNames, ['IP:127.0.0.1', 'DNS:n1']);
    assert.equal(result.certificate.daysToExpiry, 364);
    assert.deepEqual(served.requests, ['GET /healthz']);
  });

  it('refuses a kubelet whose certificate another CA signed, before sending anything', async () => {
    const served = await serve(kubelet);
    const err = await refused(served, await loadKubeletTls({ caFile: otherCaFile }));
    assert.equal(err.problem, 'untrusted');
    assert.match(err.message, /^node n1: kubelet certificate not signed by the configured CA \(issued by CN=kubelet CA; UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/);
    assert.equal(err.certificate?.issuer.commonName, 'kubelet CA');
    assert.deepEqual(served.requests, []);
  });

  it('refuses a certificate that names neither the node address nor its name, listing its SANs', async () => {
    const wrong = await clusterCa.issue({ commonName: 'n2', ips: ['127.0.0.2'], dnsNames: ['n2'] });
    const served = await serve(wrong);
    const err = await refused(served, { ca: clusterCa.certPem });
    assert.equal(err.problem, 'name-mismatch');
    assert.equal(err.message, 'node n1: kubelet certificate does not name 127.0.0.1 or n1 (SANs: IP:127.0.0.2, DNS:n2)');
    assert.deepEqual(served.requests, []);
  });

  it('accepts a certificate that names only the node name (IP or name, as OpenSSH)', async () => {
    const nameOnly = await clusterCa.issue({ commonName: 'n1', ips: [], dnsNames: ['n1'] });
    const served = await serve(nameOnly);
    const result = await probeKubelet(await stream(served.port), NODE, { ca: clusterCa.certPem });
    assert.equal(result.status, 200);
    assert.deepEqual(result.certificate.subjectAltNames, ['DNS:n1']);
  });

  it('does not accept a CN without SANs, as Go (kube-apiserver) does not', async () => {
    const test = createTestCa('CN-only CA');
    const served = await serve(test.issue({ commonName: '127.0.0.1' }));
    const err = await refused(served, { ca: test.certPem });
    assert.equal(err.problem, 'name-mismatch');
    assert.equal(err.message, 'node n1: kubelet certificate does not name 127.0.0.1 or n1 (it has no SANs; its CN 127.0.0.1 does not count)');
  });

  it('does not fall back to the CN when the SANs hold only IP addresses (Node would; Go does not)', async () => {
    const served = await serve(await clusterCa.issue({ commonName: 'n1', ips: ['127.0.0.2'], dnsNames: [] }));
    const err = await refused(served, { ca: clusterCa.certPem });
    assert.equal(err.problem, 'name-mismatch');
    assert.equal(err.message, 'node n1: kubelet certificate does not name 127.0.0.1 or n1 (SANs: IP:127.0.0.2)');
    assert.deepEqual(served.requests, []);
  });

  it('refuses an expired certificate and says when it expired', async () => {
    const test = createTestCa('expiry CA');
    const old = test.issue({ commonName: 'n1', ips: ['127.0.0.1'], notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - 2 * DAY) });
    const err = await refused(await serve(old), { ca: test.certPem });
    assert.equal(err.problem, 'expired');
    assert.match(err.message, /^node n1: kubelet certificate expired on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(err.message.endsWith(err.certificate!.notAfter), true);
    assert.equal(err.certificate?.daysToExpiry, -3);
  });

  it('names an expired CA in the chain', async () => {
    const old = createTestCa('old CA', { notBefore: new Date(Date.now() - 30 * DAY), notAfter: new Date(Date.now() - DAY) });
    const leaf = old.issue({ commonName: 'n1', ips: ['127.0.0.1'] });
    const err = await refused(await serve(leaf), { ca: old.certPem });
    assert.equal(err.problem, 'expired');
    assert.match(err.message, /kubelet certificate's issuer CN=old CA expired on /);
  });

  it('reads ECDSA kubelet certificates (as kubelets rotating their certificate have)', async () => {
    const test = createTestCa('EC CA');
    const served = await serve(test.issue({ commonName: 'system:node:n1', organization: 'system:nodes', ips: ['127.0.0.1'], keyType: 'ec' }));
    const result = await probeKubelet(await stream(served.port), NODE, { ca: test.certPem });
    assert.equal(result.certificate.publicKey, 'ECDSA P-256');
    assert.equal(result.certificate.subject.text, 'CN=system:node:n1,O=system:nodes');
  });

  it('authenticates with the kubelet client certificate when the kubelet demands one', async () => {
    const served = await serve(kubelet, true);
    const withCert = await loadKubeletTls({ caFile, certFile: clientCertFile, keyFile: clientKeyFile });
    assert.equal((await probeKubelet(await stream(served.port), NODE, withCert)).status, 200);

    const err = await refused(served, await loadKubeletTls({ caFile }));
    assert.equal(err.problem, 'client-cert-refused');
    assert.match(err.message, /^node n1: kubelet requires a client certificate and none is configured \(TLS alert: certificate required\)$/);

    // A Node server drops an untrusted client certificate without an alert (a real kubelet answers 401).
    const stranger = createTestCa('not the client CA').issue({ commonName: 'x', usage: 'client' });
    const wrongClient = { ca: clusterCa.certPem, cert: stranger.certPem, key: stranger.keyPem };
    await assert.rejects(probeKubelet(await stream(served.port), NODE, wrongClient), /socket hang up|ECONNRESET/);
    assert.equal(served.requests.length, 1);
  });

  it('with verification turned off, reports the verdict instead of refusing', async () => {
    const served = await serve(kubelet);
    const result = await probeKubelet(await stream(served.port), NODE, await loadKubeletTls({}));
    assert.equal(result.status, 200);
    assert.equal(result.authorized, false);
    assert.match(result.reason ?? '', /not signed by the configured CA/);
  });

  it('times out a kubelet that never completes the handshake, and can be aborted', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    after(() => silent.close());
    const port = (silent.address() as net.AddressInfo).port;
    const err = await probeKubelet(await stream(port), NODE, { ca: clusterCa.certPem }, '/healthz', 100).catch((e: unknown) => e);
    assert.ok(err instanceof DialTimeoutError, String(err));
    assert.match(err.message, new RegExp(`https://127\\.0\\.0\\.1:${port}/healthz via node n1 timed out after 100 ms \\(TLS handshake with the kubelet\\)`));

    const controller = new AbortController();
    const pending = probeKubelet(await stream(port), NODE, { ca: clusterCa.certPem }, '/healthz', 5000, controller.signal);
    controller.abort();
    await assert.rejects(pending, DialAbortedError);
  });
});

describe('kubeletIdentityCheck', () => {
  it('lets https agents accept the node address or name', async () => {
    const nameOnly = await clusterCa.issue({ commonName: 'n1', ips: [], dnsNames: ['n1'] });
    const served = await serve(nameOnly);
    const get = (names: string[]): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port: served.port, path: '/healthz', ca: clusterCa.certPem, agent: false, checkServerIdentity: kubeletIdentityCheck(names) }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
    assert.equal(await get(['127.0.0.1', 'n1']), 200);
    await assert.rejects(get(['127.0.0.1', 'n9']), /kubelet certificate does not name 127\.0\.0\.1 or n9 \(SANs: DNS:n1\)/);
  });

  it('takes a wildcard only as a whole leftmost label, as Go does', () => {
    const check = (dnsName: string, name: string): string | undefined =>
      kubeletIdentityCheck(['198.18.0.11', name])('', { raw: Buffer.from(new X509Certificate(clientCa.issue({ commonName: 'k', dnsNames: [dnsName] }).certPem).raw) } as tls.PeerCertificate)?.message;
    assert.equal(check('*.nodes.example', 'n1.nodes.example'), undefined);
    assert.match(check('n*.nodes.example', 'n1.nodes.example') ?? '', /does not name 198\.18\.0\.11 or n1\.nodes\.example \(SANs: DNS:n\*\.nodes\.example\)/);
    assert.match(check('*.nodes.example', 'a.n1.nodes.example') ?? '', /does not name/);
  });
});

describe('loadKubeletTls', () => {
  async function rejectsWith(files: Parameters<typeof loadKubeletTls>[0], message: string | RegExp, file?: string): Promise<void> {
    await assert.rejects(loadKubeletTls(files), (err: unknown) => {
      assert.ok(err instanceof TlsConfigError, String(err));
      assert.equal(err.code, 'ERR_TLS_CONFIG');
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      if (file !== undefined) assert.equal(err.file, file);
      return true;
    });
  }

  it('returns the CA bundle, and the client pair when given', async () => {
    const bundle = file('bundle.crt', `${otherCa.certPem}\n${clusterCa.certPem}`, 0o644);
    const options = await loadKubeletTls({ caFile: bundle, certFile: clientCertFile, keyFile: clientKeyFile });
    assert.equal((options.ca as string[]).length, 2);
    assert.match(String(options.cert), /BEGIN CERTIFICATE/);
    assert.match(String(options.key), /BEGIN PRIVATE KEY/);
    assert.equal(options.rejectUnauthorized, undefined);
  });

  it('without a CA file, says so by turning verification off (as kube-apiserver without the flag)', async () => {
    assert.deepEqual(await loadKubeletTls({}), { rejectUnauthorized: false });
  });

  it('names the CA file that is missing, empty or broken, and which certificate', async () => {
    const missing = join(dir, 'nope.crt');
    await rejectsWith({ caFile: missing }, `kubelet CA bundle ${missing} does not exist`, missing);
    const empty = file('empty.crt', '', 0o644);
    await rejectsWith({ caFile: empty }, `kubelet CA bundle ${empty} holds no PEM certificate (it is empty)`, empty);
    const broken = file('broken.crt', clusterCa.certPem + otherCa.certPem.replace(/\n[A-Za-z0-9+/]{64}\r?\n/, '\nAAAA\n'), 0o644);
    await rejectsWith({ caFile: broken }, new RegExp(`^kubelet CA bundle ${broken}: certificate 2 of 2 cannot be read: `), broken);
  });

  it('wants both client files or neither', async () => {
    await rejectsWith({ caFile, certFile: clientCertFile }, /give both certFile and keyFile/);
    await rejectsWith({ caFile, keyFile: clientKeyFile }, /give both certFile and keyFile/);
  });

  it('refuses a client key that group or others can read', async () => {
    const open = file('open.key', apiserverClient.keyPem, 0o644);
    await rejectsWith({ caFile, certFile: clientCertFile, keyFile: open }, `permissions 0644 for ${open} are too open; chmod 600 it`, open);
  });

  it('refuses a client key that does not belong to the certificate, or is no key', async () => {
    const other = file('other.key', kubelet.keyPem);
    await rejectsWith({ caFile, certFile: clientCertFile, keyFile: other }, `kubelet client key ${other} does not belong to the certificate in ${clientCertFile}`);
    const junk = file('junk.key', 'not a key\n');
    await rejectsWith({ caFile, certFile: clientCertFile, keyFile: junk }, `kubelet client key ${junk} cannot be used: not a PEM or DER private key`);
  });
});
