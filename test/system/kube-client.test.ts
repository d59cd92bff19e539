// Kubernetes-native use against real OpenSSH sshd: the node inventory comes from a Kubernetes API
// stand-in (HTTPS on the control plane's loopback), and @kubernetes/client-node reaches pods, kubelets and
// a ClusterIP through the tunnels (withEgress). Pod IPs are unreachable from the control plane except
// through a tunnel, so an answer proves the path.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, Health, HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { Dialer, KubeInventory, TunnelPool, loadKubeConfig, withEgress } from '../../src/index.js';
import { k8sNode, k8sServiceCidr } from '../fixtures/kube-objects.js';
import { startKubeApiStandIn, type KubeApiStandIn } from '../integration/kube-api-server.js';
import { loadTopology } from './topology.js';

const t = loadTopology();
let dir: string;
let api: KubeApiStandIn;
let pool: TunnelPool;
let inventory: KubeInventory;
let dialer: Dialer;

function kubeConfigFor(server: string, ca?: Buffer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'target', server, ...(ca ? { caData: ca.toString('base64') } : { skipTLSVerify: true }) }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'target', cluster: 'target', user: 'anonymous' }],
    currentContext: 'target',
  });
  return kc;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-client-system-'));
  api = await startKubeApiStandIn({ dir });
  for (const n of t.nodes) api.nodes.upsert(k8sNode({ name: n.name, address: n.address, podCIDR: n.podCIDR }));
  api.serviceCIDRs.upsert(k8sServiceCidr('kubernetes', [t.serviceCIDR]));
  pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, healthCheck: { kind: 'ssh' } });
  inventory = new KubeInventory({ kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile }), onNodes: (nodes) => pool.setNodes(nodes) }).start();
  await inventory.synced;
  await pool.ready({ timeoutMs: 15_000 });
  dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
});

after(async () => {
  await inventory?.stop();
  await pool?.close();
  await api?.close();
  await rm(dir, { recursive: true, force: true });
});

test('the inventory from the API stand-in gives a READY tunnel to every real sshd on port 22', () => {
  for (const node of t.nodes) {
    const status = pool.status().find((s) => s.node === node.name);
    assert.equal(status?.state, 'READY');
    assert.equal(status?.hostKeyFingerprint, node.hostKeyFingerprint);
  }
  assert.deepEqual(pool.nodes().map((n) => `${n.name} ${n.address}:${n.sshPort} ${n.podCIDRs.join()}`), t.nodes.map((n) => `${n.name} ${n.address}:22 ${n.podCIDR}`));
});

test("client-node's HTTP stack reaches each pod through the node that owns it", async () => {
  for (const node of t.nodes) {
    const podIP = node.podIPs[0]!;
    const server = `http://${podIP}:${t.ports.podHttp}`;
    const kc = withEgress(kubeConfigFor(server), dialer);
    const request = new RequestContext(`${server}/whoami`, HttpMethod.GET);
    await kc.applySecurityAuthentication(request);
    const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise();
    assert.equal(response.httpStatusCode, 200);
    assert.deepEqual(JSON.parse(await response.body.text()), { node: node.name, addr: podIP, port: t.ports.podHttp });
  }
});

test('a generated API client reaches a ClusterIP (the service answers 404: it is no API server)', async () => {
  const kc = withEgress(kubeConfigFor(`http://${t.clusterIP}:${t.ports.podHttp}`), dialer);
  await assert.rejects(kc.makeApiClient(CoreV1Api).listNode(), (err: { code?: number; body?: unknown }) => {
    assert.equal(err.code, 404);
    assert.match(String(err.body), /no route GET \/api\/v1\/nodes/);
    return true;
  });
});

test('Health reaches each kubelet by node name over TLS verified against the kubelet CA', async () => {
  const ca = await readFile(t.kubeletCaFile);
  for (const node of t.nodes) {
    const kc = withEgress(kubeConfigFor(`https://${node.name}:${t.ports.kubelet}`, ca), dialer);
    assert.equal(await new Health(kc).readyz({}), true, `kubelet of ${node.name}`);
  }
});

test('a node removed from the API drains; the other tunnels stay', async () => {
  const [first, second, ...rest] = t.nodes;
  const kept = [second!, ...rest].map((n) => pool.get(n.name));
  api.nodes.remove(first!.name);
  const deadline = Date.now() + 5000;
  while (pool.get(first!.name) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(pool.get(first!.name), undefined);
  assert.deepEqual([second!, ...rest].map((n) => pool.get(n.name)), kept);
  api.nodes.upsert(k8sNode({ name: first!.name, address: first!.address, podCIDR: first!.podCIDR }));
});
