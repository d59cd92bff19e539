// @kubernetes/client-node through the tunnels (withEgress), against the simulated cluster: its generated
// API clients, Health, Watch and the agent its WebSocket calls use all reach pods and kubelets through the
// owning node. 1.x always; 2.x (undici dispatcher) when it loads on this Node.js.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as v1 from '@kubernetes/client-node';
import { Dialer } from '../../src/dialer/dialer.js';
import { withEgress } from '../../src/kube/client-node.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';

// 2.x is driven through 1.x's types: every call used here exists alike in both.
type ClientNode = typeof v1;

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let ca: Buffer;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  ca = readFileSync(cluster.kubeletCaFile);
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile, healthCheck: { kind: 'ssh' } });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
});

after(async () => {
  await pool?.close();
  await cluster?.stop();
});

/**
 * 2.x depends on undici 8, which needs Node.js 22 (zlib's zstd) and throws while loading on 20; with its
 * undici pinned to 7 (an npm override) it loads on 20. Checked before importing, since the failed load
 * also leaves an unhandled rejection behind.
 */
async function loadV2(): Promise<ClientNode | string> {
  const require = createRequire(import.meta.url);
  const undici = createRequire(require.resolve('client-node-v2'))('undici/package.json') as { version: string };
  if (Number(undici.version.split('.')[0]) >= 8 && !('createZstdDecompress' in zlib)) {
    return `@kubernetes/client-node 2.x uses undici ${undici.version}, which needs Node.js 22 (this is ${process.version}); pin its undici to 7 to run this`;
  }
  return (await import('client-node-v2')) as unknown as ClientNode;
}

function kubeConfig(k8s: ClientNode, server: string, caData?: Buffer) {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, ...(caData ? { caData: caData.toString('base64') } : { skipTLSVerify: true }) }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'c', cluster: 'c', user: 'u' }],
    currentContext: 'c',
  });
  return kc;
}

/** The streams the fake nodes carried since `mark`, as "node host:port". */
function servedSince(mark: number): string[] {
  return cluster.served.slice(mark).map((s) => `${s.node} ${s.destHost}:${s.destPort}`);
}

function suite(name: string, load: () => Promise<ClientNode | string>): void {
  describe(name, () => {
    let k8s: ClientNode;
    let skip: string | undefined;
    before(async () => {
      const loaded = await load();
      if (typeof loaded === 'string') skip = loaded;
      else k8s = loaded;
    });

    test("client-node's request path (auth, then its HTTP library) reaches a pod through its node", async (t) => {
      if (skip) return t.skip(skip);
      const podIP = cluster.podIPs.n2![0]!;
      const kc = withEgress(kubeConfig(k8s, `http://${podIP}:8080`), dialer);
      const mark = cluster.served.length;
      const request = new k8s.RequestContext(`http://${podIP}:8080/whoami`, k8s.HttpMethod.GET);
      await kc.applySecurityAuthentication(request);
      const response = await new k8s.IsomorphicFetchHttpLibrary().send(request).toPromise();
      assert.equal(response.httpStatusCode, 200);
      assert.deepEqual(JSON.parse(await response.body.text()), { node: 'n2', addr: podIP, port: 8080 });
      assert.deepEqual(servedSince(mark), [`n2 ${podIP}:8080`]);
    });

    test('a generated API client goes through the tunnel (the pod answers 404: no API server there)', async (t) => {
      if (skip) return t.skip(skip);
      const podIP = cluster.podIPs.n3![1]!;
      const kc = withEgress(kubeConfig(k8s, `http://${podIP}:8080`), dialer);
      const mark = cluster.served.length;
      await assert.rejects(kc.makeApiClient(k8s.CoreV1Api).listNode(), (err: { code?: number }) => err.code === 404);
      assert.deepEqual(servedSince(mark), [`n3 ${podIP}:8080`]);
    });

    test('Health and Watch reach a kubelet over verified TLS, by node name', async (t) => {
      if (skip) return t.skip(skip);
      const kc = withEgress(kubeConfig(k8s, 'https://n1:10250', ca), dialer);
      const mark = cluster.served.length;
      assert.equal(await new k8s.Health(kc).readyz({}), true);
      assert.ok(servedSince(mark).every((s) => s === 'n1 127.0.1.1:10250'));
      const ended = new Promise<unknown>((resolve) => {
        void new k8s.Watch(kc).watch('/api/v1/pods', {}, () => undefined, resolve);
      });
      const err = (await ended) as { statusCode?: number };
      assert.equal(err.statusCode, 404, 'the kubelet answered the watch request');
    });

    test('a kubeconfig CA that did not sign the kubelet certificate is refused', async (t) => {
      if (skip) return t.skip(skip);
      const otherCa = (await import('../../src/simulator/cluster-pki.js')).createClusterCa('another CA');
      const kc = withEgress(kubeConfig(k8s, 'https://n1:10250', Buffer.from((await otherCa).certPem)), dialer);
      await assert.rejects(new k8s.Health(kc).readyz({}));
    });

    test('a server outside the cluster is refused by the dialer, not dialled directly', async (t) => {
      if (skip) return t.skip(skip);
      const kc = withEgress(kubeConfig(k8s, 'http://198.18.255.1:8080'), dialer);
      const request = new k8s.RequestContext('http://198.18.255.1:8080/whoami', k8s.HttpMethod.GET);
      await kc.applySecurityAuthentication(request);
      // node-fetch (1.x) puts the dialer's error in the message, undici's fetch (2.x) in `cause`.
      await assert.rejects(new k8s.IsomorphicFetchHttpLibrary().send(request).toPromise(), (err: Error) => {
        assert.match(`${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`, /198\.18\.255\.1 is not a node address/);
        return true;
      });
    });

    test("the agent for WebSocket calls (exec, attach, port-forward) is a tunnel agent, shared by equal requests", async (t) => {
      if (skip) return t.skip(skip);
      const kc = withEgress(kubeConfig(k8s, 'https://n2:10250', ca), dialer);
      const first: https.RequestOptions = {};
      const second: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(first);
      await kc.applyToHTTPSOptions(second);
      assert.ok(first.agent instanceof https.Agent);
      assert.equal(first.agent, second.agent);
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get('https://n2:10250/whoami', first, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve(text));
          })
          .on('error', reject);
      });
      assert.equal(JSON.parse(body).node, 'n2');
    });
  });
}

suite('@kubernetes/client-node 1.x (node-fetch with an agent)', async () => v1);
suite('@kubernetes/client-node 2.x (undici dispatcher)', loadV2);
