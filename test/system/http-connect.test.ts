// The HTTP CONNECT front end against real OpenSSH sshd, from inside the control-plane namespace: real curl
// through it (plain loopback TCP and mutual TLS), and kube-apiserver's exact bytes over the Unix socket and
// over mutual TLS, with the byte-exact 200 it demands.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { Dialer, TunnelPool, loadInventory } from '../../src/index.js';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { silentLogger } from '../../src/log.js';
import { createTestCa } from '../unit/tls-test-pki.js';
import { apiserverRequest, ESTABLISHED, exchange, getOver, sendConnect, statusOf } from '../integration/http-connect-client.js';
import { curl, curlOk as ok } from '../support/curl.js';
import { loadTopology } from './topology.js';

const t = loadTopology();
const dir = mkdtempSync(join(tmpdir(), 'http-connect-system-'));
const socketPath = join(dir, 'egress.sock');
const pki = createTestCa('ssh-egress proxy CA');
const serverCreds = pki.issue({ commonName: 'ssh-egress', ips: ['127.0.0.1'], usage: 'server' });
const clientCreds = pki.issue({ commonName: 'kube-apiserver', usage: 'client' });
const files = {
  ca: join(dir, 'proxy-ca.crt'),
  clientCert: join(dir, 'client.crt'),
  clientKey: join(dir, 'client.key'),
};
let pool: TunnelPool;
let uds: HttpConnectFrontend;
let mtls: HttpConnectFrontend;
let tcp: HttpConnectFrontend;

before(async () => {
  writeFileSync(files.ca, pki.certPem);
  writeFileSync(files.clientCert, clientCreds.certPem);
  writeFileSync(files.clientKey, clientCreds.keyPem, { mode: 0o600 });
  pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile });
  pool.setNodes(await loadInventory(t.inventoryFile));
  await pool.ready({ timeoutMs: 15_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
  const options = { logger: silentLogger() };
  uds = new HttpConnectFrontend(dialer, { kind: 'unix', path: socketPath }, options);
  mtls = new HttpConnectFrontend(
    dialer,
    { kind: 'tls', host: '127.0.0.1', port: 0, cert: serverCreds.certPem, key: serverCreds.keyPem, clientCA: pki.certPem },
    options,
  );
  tcp = new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, options);
  await Promise.all([uds.listen(), mtls.listen(), tcp.listen()]);
});

after(async () => {
  for (const f of [uds, mtls, tcp]) await f?.close();
  await pool?.close();
  rmSync(dir, { recursive: true, force: true });
});

const portOf = (f: HttpConnectFrontend): number => (f.address() as { port: number }).port;

// -p (--proxytunnel) makes curl CONNECT for http:// URLs too; for https:// it always does.
const viaTcp = (): string[] => ['-p', '-x', `http://127.0.0.1:${portOf(tcp)}`];
const viaMtls = (): string[] => [
  '-p', '-x', `https://127.0.0.1:${portOf(mtls)}`,
  '--proxy-cacert', files.ca, '--proxy-cert', files.clientCert, '--proxy-key', files.clientKey,
];

test('curl -x reaches each kubelet over HTTPS verified against the cluster CA, by address and by name', async () => {
  for (const node of t.nodes) {
    for (const host of [node.address, node.name]) {
      const body = await ok([...viaTcp(), '--cacert', t.kubeletCaFile, `https://${host}:${t.ports.kubelet}/healthz`]);
      assert.equal(body.trim(), 'ok', host);
    }
    const who = JSON.parse(await ok([...viaTcp(), '--cacert', t.kubeletCaFile, `https://${node.address}:${t.ports.kubelet}/whoami`]));
    assert.equal(who.node, node.name);
  }
});

test('curl -x reaches each pod through its own node, and the ClusterIP through every node', async () => {
  for (const node of t.nodes) {
    for (const podIP of node.podIPs) {
      const who = JSON.parse(await ok([...viaTcp(), `http://${podIP}:${t.ports.podHttp}/whoami`]));
      assert.deepEqual(who, { node: node.name, addr: podIP, port: t.ports.podHttp });
    }
  }
  const seen = new Set<string>();
  for (let i = 0; i < t.nodes.length * 2; i++) {
    seen.add(JSON.parse(await ok([...viaTcp(), `http://${t.clusterIP}:${t.ports.podHttp}/whoami`])).node);
  }
  assert.deepEqual([...seen].sort(), t.nodes.map((n) => n.name).sort());
});

test('curl through the mutual-TLS listener with a client certificate; without one it is refused', async () => {
  const node = t.nodes[1]!;
  const body = await ok([...viaMtls(), '--cacert', t.kubeletCaFile, `https://${node.address}:${t.ports.kubelet}/healthz`]);
  assert.equal(body.trim(), 'ok');
  const pod = JSON.parse(await ok([...viaMtls(), `http://${node.podIPs[0]}:${t.ports.podHttp}/whoami`]));
  assert.equal(pod.node, node.name);
  const refused = await curl(['-p', '-x', `https://127.0.0.1:${portOf(mtls)}`, '--proxy-cacert', files.ca, `http://${node.podIPs[0]}:${t.ports.podHttp}/whoami`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /alert|certificate|SSL|reset/i);
});

test('curl sees the mapped error statuses: 502 for a refused port, 405 for a plain proxy GET', async () => {
  const refused = await curl(['-p', '-x', `http://127.0.0.1:${portOf(tcp)}`, '-o', '/dev/null', `http://${t.nodes[0]!.podIPs[0]}:9999/`]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /CONNECT tunnel failed, response 502|502/);
  // Without -p, curl sends "GET http://..." to the proxy: not CONNECT.
  const get = await curl(['-x', `http://127.0.0.1:${portOf(tcp)}`, '-w', '%{http_code}', '-o', '/dev/null', `http://${t.clusterIP}:${t.ports.podHttp}/whoami`]);
  assert.equal(get.stdout, '405');
});

test("kube-apiserver's exact bytes over the Unix socket: the 200 line, nothing more, then the kubelet over TLS", async () => {
  for (const node of t.nodes) {
    const { head, extra, socket } = await sendConnect(net.connect(socketPath), apiserverRequest(`${node.address}:${t.ports.kubelet}`));
    assert.equal(head, ESTABLISHED);
    assert.equal(extra.length, 0, 'no byte after the head before the client speaks');
    const res = await getOver(socket, `https://${node.address}:${t.ports.kubelet}/whoami`, readFileSync(t.kubeletCaFile));
    assert.equal(JSON.parse(res.body).node, node.name);
  }
});

test("kube-apiserver's exact bytes over mutual TLS: the 200 line, nothing more, then a pod", async () => {
  const node = t.nodes[2]!;
  const podIP = node.podIPs[1]!;
  const connect = (): tls.TLSSocket =>
    tls.connect({ host: '127.0.0.1', port: portOf(mtls), ca: pki.certPem, cert: clientCreds.certPem, key: clientCreds.keyPem });
  const { head, extra, socket } = await sendConnect(connect(), apiserverRequest(`${podIP}:${t.ports.podHttp}`));
  assert.equal(head, ESTABLISHED);
  assert.equal(extra.length, 0);
  const res = await getOver(socket, `http://${podIP}:${t.ports.podHttp}/whoami`);
  assert.deepEqual(JSON.parse(res.body), { node: node.name, addr: podIP, port: t.ports.podHttp });

  const noCert = await exchange(tls.connect({ host: '127.0.0.1', port: portOf(mtls), ca: pki.certPem }), apiserverRequest(`${podIP}:${t.ports.podHttp}`));
  assert.equal(noCert.text, '', 'a client without a certificate gets no HTTP at all');
});

test('errors over the Unix socket: 502 refused and no route, 405, 400; the front end keeps serving', async () => {
  const answer = async (request: string): Promise<string> => (await exchange(net.connect(socketPath), request)).text;
  assert.equal(statusOf(await answer(apiserverRequest(`${t.nodes[0]!.podIPs[0]}:9999`))), 502);
  assert.match(await answer(apiserverRequest('198.18.255.1:80')), /^HTTP\/1\.1 502 [^]*ERR_NO_ROUTE/);
  assert.equal(statusOf(await answer('GET / HTTP/1.1\r\nHost: x\r\n\r\n')), 405);
  assert.equal(statusOf(await answer('\x16\x03\x01garbage\r\n\r\n')), 400);
  const { head, socket } = await sendConnect(net.connect(socketPath), apiserverRequest(`${t.clusterIP}:${t.ports.podHttp}`));
  assert.equal(head, ESTABLISHED);
  socket.destroy();
});
