// Kubelet TLS through real sshd tunnels, from inside the control-plane namespace: each kubelet's serving
// certificate is verified against the kubelet CA with the node's IP or name checked against its SANs;
// a certificate from another CA, or one that does not name the node, is refused with a plain reason.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { Dialer, KubeletCertificateError, TunnelPool, loadInventory } from '../../src/index.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { loadKubeletTls } from '../../src/tls/kubelet-tls.js';
import { probeKubelet } from '../../src/tls/probe-kubelet.js';
import { createTestCa } from '../unit/tls-test-pki.js';
import type { TlsServerArgs } from './fixtures/tls-server.js';
import { loadTopology, nodeOf, type TopologyNode } from './topology.js';

const t = loadTopology();
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/tls-server.ts', import.meta.url));
const EXTRA_PORT = 10251;
const dir = join(t.dir, 'kubelet-tls');

let pool: TunnelPool;
let dialer: Dialer;
const servers: ChildProcess[] = [];

before(async () => {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The pool's own health check stays out of the way: these tests probe the kubelets themselves.
  pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' } });
  pool.setNodes(await loadInventory(t.inventoryFile));
  await pool.ready({ timeoutMs: 15_000 });
  dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
});

after(async () => {
  await Promise.all(servers.map(stop));
  await pool?.close();
});

function file(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  return path;
}

/** Starts fixtures/tls-server.ts in the node's namespace on EXTRA_PORT and waits until it listens. */
async function startTlsServer(node: TopologyNode, creds: { certPem: string; keyPem: string }, clientCaPem?: string): Promise<void> {
  const args: TlsServerArgs = {
    host: node.address,
    port: EXTRA_PORT,
    certFile: file(`${node.name}-extra.crt`, creds.certPem),
    keyFile: file(`${node.name}-extra.key`, creds.keyPem),
    ...(clientCaPem ? { clientCaFile: file(`${node.name}-client-ca.crt`, clientCaPem) } : {}),
  };
  const argv = ['netns', 'exec', node.namespace, process.execPath, '--import', 'tsx', FIXTURE, JSON.stringify(args)];
  const child = spawn('ip', argv, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tls-server in ${node.namespace}: no READY in 30 s\n${stderr}`)), 30_000);
    child.once('exit', (code, sig) => reject(new Error(`tls-server in ${node.namespace} exited with ${code ?? sig}\n${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('READY ')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function refusal(promise: Promise<unknown>): Promise<KubeletCertificateError> {
  const err = await promise.catch((e: unknown) => e);
  assert.ok(err instanceof KubeletCertificateError, String(err));
  assert.equal(err.code, 'ERR_KUBELET_CERT');
  return err;
}

test('each kubelet verifies against the kubelet CA through its own tunnel and reports its certificate', async () => {
  const tlsOptions = await loadKubeletTls({ caFile: t.kubeletCaFile });
  for (const node of t.nodes) {
    const stream = await dialer.dial({ kind: 'kubelet', node: node.name });
    assert.equal(stream.node, node.name);
    const result = await probeKubelet(stream, node, tlsOptions);
    assert.equal(result.status, 200);
    assert.equal(result.authorized, true);
    const cert = result.certificate;
    assert.equal(cert.subject.commonName, node.name);
    assert.equal(cert.issuer.commonName, `ssh-egress test kubelet CA ${t.id}`);
    assert.deepEqual(cert.subjectAltNames, [`IP:${node.address}`, `DNS:${node.name}`]);
    assert.ok(cert.daysToExpiry >= 363 && cert.daysToExpiry <= 365, `daysToExpiry ${cert.daysToExpiry}`);
    assert.match(cert.fingerprintSha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  }
});

test('a kubelet CA from another authority refuses every kubelet, with the plain reason', async () => {
  const other = await createClusterCa('another authority');
  const tlsOptions = await loadKubeletTls({ caFile: file('other-ca.crt', other.certPem, 0o644) });
  for (const node of t.nodes) {
    const stream = await dialer.dial({ kind: 'kubelet', node: node.name });
    const err = await refusal(probeKubelet(stream, node, tlsOptions));
    assert.equal(err.problem, 'untrusted');
    assert.equal(err.node, node.name);
    assert.match(err.message, new RegExp(`^node ${node.name}: kubelet certificate not signed by the configured CA \\(issued by CN=ssh-egress test kubelet CA ${t.id}; `));
    assert.equal(err.certificate?.subject.commonName, node.name);
  }
});

test('a kubelet whose certificate does not name the node IP (nor its name) is refused', async () => {
  const node = nodeOf(t, 'n1');
  const ca = await createClusterCa('wrong-SAN test CA');
  await startTlsServer(node, await ca.issue({ commonName: 'impostor', ips: ['198.18.0.99'], dnsNames: ['impostor'] }));
  const tlsOptions = { ca: ca.certPem };
  const stream = await dialer.dial({ kind: 'node', node: node.name, port: EXTRA_PORT });
  const err = await refusal(probeKubelet(stream, node, tlsOptions));
  assert.equal(err.problem, 'name-mismatch');
  assert.equal(err.message, `node n1: kubelet certificate does not name ${node.address} or n1 (SANs: IP:198.18.0.99, DNS:impostor)`);
});

test('a kubelet demanding a client certificate accepts the configured one and refuses none', async () => {
  const node = nodeOf(t, 'n2');
  const clientCa = createTestCa('kubelet client CA');
  const client = clientCa.issue({ commonName: 'kube-apiserver-kubelet-client', organization: 'system:masters', usage: 'client' });
  const serverCa = await createClusterCa('client-cert test CA');
  await startTlsServer(node, await serverCa.issue({ commonName: node.name, ips: [node.address], dnsNames: [] }), clientCa.certPem);
  const caFile = file('client-test-ca.crt', serverCa.certPem, 0o644);
  const withCert = await loadKubeletTls({
    caFile,
    certFile: file('apiserver-kubelet-client.crt', client.certPem, 0o644),
    keyFile: file('apiserver-kubelet-client.key', client.keyPem),
  });
  const ok = await probeKubelet(await dialer.dial({ kind: 'node', node: node.name, port: EXTRA_PORT }), node, withCert);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.certificate.subjectAltNames, [`IP:${node.address}`]);

  const without = await loadKubeletTls({ caFile });
  const err = await refusal(probeKubelet(await dialer.dial({ kind: 'node', node: node.name, port: EXTRA_PORT }), node, without));
  assert.equal(err.problem, 'client-cert-refused');
  assert.match(err.message, /kubelet requires a client certificate and none is configured/);
});
