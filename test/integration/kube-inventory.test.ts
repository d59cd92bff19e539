// The live inventory end to end: a Kubernetes API stand-in (HTTPS on loopback) serving Nodes whose
// addresses are the simulated cluster's fake sshd nodes (127.0.1.k, one shared port), a real TunnelPool
// fed by KubeInventory. The tests run in order on one cluster, each from the state the last one left.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Dialer } from '../../src/dialer/dialer.js';
import { loadKubeConfig } from '../../src/kube/kube-config.js';
import { KubeInventory } from '../../src/kube/kube-inventory.js';
import { clientNodeListWatch, withSignal } from '../../src/kube/client-node-list-watch.js';
import { Reflector } from '../../src/kube/reflector.js';
import { ServiceCidrDiscovery } from '../../src/kube/service-cidrs.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';
import { k8sNode, k8sServiceCidr, type NodeShape } from '../fixtures/kube-objects.js';
import { freePort } from '../support/free-port.js';
import { captureLogger } from '../unit/capture-logger.js';
import { startKubeApiStandIn, type KubeApiStandIn } from './kube-api-server.js';

let dir: string;
let api: KubeApiStandIn;
let cluster: SimulatedCluster;
let pool: TunnelPool;
let inventory: KubeInventory;
let sshPort: number;
const calls: NodeSpec[][] = [];
const logs = captureLogger();
const DEBOUNCE_MS = 50;

/** A port free on 127.0.1.1, used by every fake node (each has its own address). */
const nodeObject = (k: number, extra: Partial<NodeShape> = {}) =>
  k8sNode({ name: `n${k}`, address: `127.0.1.${k}`, podCIDR: `198.19.${k}.0/24`, ...extra });

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ready = (name: string): boolean => pool.get(name)?.currentState === 'READY';
const names = (): string[] => pool.nodes().map((n) => n.name).sort();
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, DEBOUNCE_MS * 4));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-inventory-test-'));
  for (let attempt = 0; ; attempt++) {
    sshPort = await freePort('127.0.1.1');
    try {
      cluster = await startSimulatedCluster({ nodes: 5, sshPort });
      break;
    } catch (err) {
      if (attempt >= 3) throw err; // the port was taken on another 127.0.1.k in between: try another
    }
  }
  api = await startKubeApiStandIn({ dir });
  for (let k = 1; k <= 3; k++) api.nodes.upsert(nodeObject(k));
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile, healthCheck: { kind: 'ssh' } });
  inventory = new KubeInventory({
    kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile }),
    sshPort,
    debounceMs: DEBOUNCE_MS,
    logger: logs.logger,
    reflector: { watchRetryPolicy: () => 50, listRetryMinMs: 20, listRetryMaxMs: 100 },
    onNodes: (nodes) => {
      calls.push(nodes);
      pool.setNodes(nodes);
    },
  });
});

after(async () => {
  await inventory?.stop();
  await pool?.close();
  await api?.close();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the first list gives one READY tunnel per node, then a watch from its resourceVersion with bookmarks', async () => {
  inventory.start();
  const first = await inventory.synced;
  assert.deepEqual(first.map((n) => `${n.name} ${n.address}:${n.sshPort} ${n.podCIDRs.join()}`), [
    `n1 127.0.1.1:${sshPort} 198.19.1.0/24`,
    `n2 127.0.1.2:${sshPort} 198.19.2.0/24`,
    `n3 127.0.1.3:${sshPort} 198.19.3.0/24`,
  ]);
  await pool.ready({ timeoutMs: 10_000 });
  assert.equal(api.lists().length, 1);
  assert.equal(api.lists()[0]!.query.resourceVersion, '0', 'from the watch cache, not etcd');
  await waitFor('the watch', () => api.watches().length === 1);
  const watch = api.watches()[0]!;
  assert.equal(watch.query.resourceVersion, '1003');
  assert.equal(watch.query.allowWatchBookmarks, 'true');
  assert.ok(Number(watch.query.timeoutSeconds) >= 300, 'a server-side timeout, so the watch is renewed');
});

test('label and pod CIDR changes update the node in place: same tunnel, no reconnect; routing follows', async () => {
  const dialer = new Dialer(pool);
  const tunnel = pool.get('n1')!;
  const since = tunnel.status().since;
  const connections = cluster.node('n1').connections;
  api.nodes.modify('n1', (n) => {
    (n.metadata.labels as Record<string, string>).zone = 'b';
    n.spec = { podCIDR: '198.19.101.0/24', podCIDRs: ['198.19.101.0/24'] };
  });
  await waitFor('the new pod CIDR', () => pool.get('n1')?.spec.podCIDRs[0] === '198.19.101.0/24');
  assert.equal(pool.get('n1'), tunnel, 'the same Tunnel object');
  assert.equal(tunnel.status().since, since, 'no state change since');
  assert.equal(tunnel.currentState, 'READY');
  assert.equal(cluster.node('n1').connections, connections, 'no new SSH connection');
  assert.equal(pool.get('n1')?.spec.labels.zone, 'b');
  const route = dialer.resolve('198.19.101.9:8080');
  assert.equal(route.via === 'node' && route.node, 'n1');
});

test('a node added connects; a node deleted drains; the others keep their tunnels', async () => {
  const before = new Map(['n1', 'n3'].map((n) => [n, pool.get(n)]));
  const n2 = pool.get('n2')!;
  api.nodes.upsert(nodeObject(4));
  api.nodes.remove('n2');
  await waitFor('n4 READY and n2 gone', () => ready('n4') && pool.get('n2') === undefined);
  assert.deepEqual(names(), ['n1', 'n3', 'n4']);
  await waitFor('the n2 tunnel closed', () => n2.currentState === 'SHUTDOWN');
  for (const [name, tunnel] of before) assert.equal(pool.get(name), tunnel, `${name} kept its tunnel`);
});

test('flapping within the debounce window: a burst that cancels out leaves the pool alone', async () => {
  const n3 = pool.get('n3');
  const count = calls.length;
  api.nodes.remove('n3');
  api.nodes.upsert(nodeObject(3));
  api.nodes.remove('n3');
  api.nodes.upsert(nodeObject(3));
  api.nodes.upsert(nodeObject(5));
  api.nodes.remove('n5');
  await settle();
  assert.equal(calls.length, count, 'no setNodes call: the set did not change');
  assert.equal(pool.get('n3'), n3);
  assert.equal(pool.get('n5'), undefined);
});

test('flapping slower than the debounce ends right: removed, then back with a new tunnel', async () => {
  const n3 = pool.get('n3')!;
  api.nodes.remove('n3');
  await waitFor('n3 removed', () => pool.get('n3') === undefined);
  api.nodes.upsert(nodeObject(3));
  await waitFor('n3 READY again', () => ready('n3'));
  assert.notEqual(pool.get('n3'), n3);
  assert.deepEqual(names(), ['n1', 'n3', 'n4']);
});

test('a node without addresses is left out with a warning and disturbs no other tunnel', async () => {
  const tunnels = new Map(names().map((n) => [n, pool.get(n)]));
  const count = calls.length;
  api.nodes.upsert(k8sNode({ name: 'bare', noAddresses: true }));
  api.nodes.modify('n4', (n) => ((n.metadata.labels as Record<string, string>).bare = 'neighbour'));
  await waitFor('the n4 label', () => pool.get('n4')?.spec.labels.bare === 'neighbour');
  assert.equal(calls.length, count + 1);
  assert.deepEqual(names(), ['n1', 'n3', 'n4']);
  for (const [name, tunnel] of tunnels) {
    assert.equal(pool.get(name), tunnel);
    assert.equal(tunnel?.currentState, 'READY');
  }
  const warning = logs.entries.find((e) => e.level === 'warn' && String(e.message).startsWith('node bare'));
  assert.match(String(warning?.message), /status\.addresses: no address of type InternalIP, ExternalIP or Hostname; left out/);
  assert.match(inventory.status().problems.bare ?? '', /no address/);
  // A node that had an address and loses it keeps its tunnel at the last good address.
  const n4 = pool.get('n4');
  api.nodes.upsert(k8sNode({ name: 'n4', noAddresses: true }));
  await settle();
  assert.equal(pool.get('n4'), n4);
  assert.equal(pool.get('n4')?.spec.address, '127.0.1.4');
  api.nodes.upsert(nodeObject(4));
  api.nodes.remove('bare');
  await waitFor('problems cleared', () => Object.keys(inventory.status().problems).length === 0);
});

test('a dropped watch resumes from the last resourceVersion, without listing again', async () => {
  const lists = api.lists().length;
  const watches = api.watches().length;
  const seen = inventory.status().resourceVersion;
  api.nodes.dropWatches();
  await waitFor('a new watch', () => api.watches().length === watches + 1);
  assert.equal(api.watches().at(-1)?.query.resourceVersion, seen);
  api.nodes.upsert(nodeObject(2));
  await waitFor('n2 READY', () => ready('n2'));
  assert.equal(api.lists().length, lists, 'no new list');
});

test('a bookmark moves the point the next watch resumes from', async () => {
  const before = Number(inventory.status().resourceVersion);
  // Changes elsewhere (another collection) advance the store's version without a node event...
  api.serviceCIDRs.upsert(k8sServiceCidr('unrelated', ['198.19.250.0/24']));
  // ...which only a bookmark tells the node watch about.
  api.nodes.bookmark();
  await waitFor('the bookmark', () => inventory.status().bookmarks === 1);
  const bookmarked = inventory.status().resourceVersion;
  assert.ok(Number(bookmarked) > before);
  const watches = api.watches().length;
  api.nodes.dropWatches();
  await waitFor('a new watch', () => api.watches().length === watches + 1);
  assert.equal(api.watches().at(-1)?.query.resourceVersion, bookmarked);
});

for (const goneAs of ['event', 'status'] as const) {
  test(`410 Gone (${goneAs === 'event' ? 'a watch ERROR event' : 'HTTP 410 on the watch request'}): list again and catch up`, async () => {
    api.goneAs = goneAs;
    const lists = api.lists().length;
    const watches = api.watches().length;
    api.nodes.dropWatches();
    // While the watch is away: a change it will not replay, then compaction.
    api.nodes.remove('n2');
    api.nodes.compact();
    await waitFor('a new list', () => api.lists().length === lists + 1);
    await waitFor('n2 removed', () => pool.get('n2') === undefined);
    const refused = api.watches()[watches];
    assert.equal(refused?.status, goneAs === 'event' ? 200 : 410);
    await waitFor('a watch from the new list', () => api.watches().length === watches + 2);
    api.nodes.upsert(nodeObject(2));
    await waitFor('n2 back', () => ready('n2'));
  });
}

test('a failing list is retried with backoff (p-retry) until it answers', async () => {
  const lists = api.lists().length;
  api.failNext(2, 503, '/api/v1/nodes');
  api.nodes.compact();
  api.nodes.expireWatches();
  await waitFor('a successful list', () => api.lists().length === lists + 3 && api.lists().at(-1)?.status === 200);
  assert.deepEqual(api.lists().slice(lists).map((r) => r.status), [503, 503, 200]);
  assert.deepEqual(names(), ['n1', 'n2', 'n3', 'n4'], 'nothing was torn down while the API failed');
  assert.ok(logs.entries.some((e) => e.level === 'warn' && /listing nodes failed; retrying/.test(String(e.message))));
});

test('labelSelector and readyOnly: only matching, Ready nodes; leaving the selection removes a node', async () => {
  api.nodes.modify('n1', (n) => ((n.metadata.labels as Record<string, string>).pool = 'blue'));
  api.nodes.modify('n3', (n) => ((n.metadata.labels as Record<string, string>).pool = 'blue'));
  api.nodes.modify('n4', (n) => ((n.metadata.labels as Record<string, string>).pool = 'blue'));
  api.nodes.upsert(nodeObject(4, { ready: false, labels: { pool: 'blue' } }));
  const seen: NodeSpec[][] = [];
  const blue = new KubeInventory({
    kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile }),
    labelSelector: 'pool=blue',
    readyOnly: true,
    sshPort,
    debounceMs: 10,
    onNodes: (nodes) => seen.push(nodes),
  }).start();
  try {
    assert.deepEqual((await blue.synced).map((n) => n.name), ['n1', 'n3']);
    assert.equal(api.lists().at(-1)?.query.labelSelector, 'pool=blue');
    assert.deepEqual(blue.status().notReady, ['n4']);
    await waitFor('the blue watch', () => api.watches().some((w) => w.query.labelSelector === 'pool=blue'));
    api.nodes.upsert(nodeObject(4, { labels: { pool: 'blue' } })); // Ready now
    await waitFor('n4 in', () => seen.at(-1)?.some((n) => n.name === 'n4') === true);
    api.nodes.modify('n3', (n) => ((n.metadata.labels as Record<string, string>).pool = 'green'));
    await waitFor('n3 out', () => seen.at(-1)?.every((n) => n.name !== 'n3') === true);
    assert.deepEqual(blue.nodes().map((n) => n.name), ['n1', 'n4']);
  } finally {
    await blue.stop();
  }
});

test('service CIDRs are discovered from ServiceCIDR objects and followed; a server without them reports none', async () => {
  api.serviceCIDRs.upsert(k8sServiceCidr('kubernetes', ['198.19.240.0/20']));
  const seen: Array<string[] | undefined> = [];
  const discovery = new ServiceCidrDiscovery({ kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile }), onServiceCIDRs: (c) => seen.push(c) }).start();
  try {
    await waitFor('the first ranges', () => seen.length === 1);
    assert.deepEqual(seen[0], ['198.19.240.0/20', '198.19.250.0/24']);
    await waitFor('the servicecidrs watch', () => api.watches('/apis/networking.k8s.io/v1/servicecidrs').length === 1);
    api.serviceCIDRs.remove('unrelated');
    await waitFor('the update', () => seen.length === 2);
    assert.deepEqual(seen[1], ['198.19.240.0/20']);
  } finally {
    await discovery.stop();
  }
  api.serviceCidrApi = false;
  const kubeConfig = await loadKubeConfig({ kubeconfig: api.kubeconfigFile });
  const none = await new Promise<string[] | undefined>((resolve) => {
    new ServiceCidrDiscovery({ kubeConfig, onServiceCIDRs: resolve }).start();
  });
  assert.equal(none, undefined);
  api.serviceCidrApi = true;
});

test('a wrong token: the list is refused (401) and retried, and nothing is handed to the pool', async () => {
  const seen: NodeSpec[][] = [];
  const stranger = new KubeInventory({
    kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile, context: 'unauthorized' }),
    onNodes: (nodes) => seen.push(nodes),
    reflector: { listRetryMinMs: 10, listRetryMaxMs: 20 },
  }).start();
  await waitFor('two refused lists', () => api.requests.filter((r) => r.status === 401).length >= 2);
  assert.equal(stranger.status().synced, false);
  assert.equal(stranger.status().lastError, '401 Unauthorized');
  await stranger.stop();
  assert.equal(seen.length, 0);
});

test('the first list asks the watch cache (resourceVersion=0), which answers in one page whatever the limit', async () => {
  const kc = await loadKubeConfig({ kubeconfig: api.kubeconfigFile });
  const listWatch = clientNodeListWatch(kc, {
    what: 'nodes',
    path: '/api/v1/nodes',
    pageSize: 2,
    pages: (k8s, config) => {
      const core = config.makeApiClient(k8s.CoreV1Api);
      return (request, signal) => core.listNode(request, withSignal(k8s, signal));
    },
  });
  const before = api.lists().length;
  const result = await listWatch.list(AbortSignal.timeout(10_000), '0');
  const requests = api.lists().slice(before);
  assert.deepEqual(requests.map((r) => `${r.query.resourceVersion} ${r.query.limit} ${r.status}`), ['0 2 200']);
  assert.ok(result.items.length > 2, 'more items than the limit, in one page');
});

test('without a watch cache a big list comes in pages; a continue token that expired mid-list restarts the list as a consistent read', async (t) => {
  api.watchCache = false;
  t.after(() => (api.watchCache = true));
  const kc = await loadKubeConfig({ kubeconfig: api.kubeconfigFile });
  let pages = 0;
  const listWatch = clientNodeListWatch(kc, {
    what: 'nodes',
    path: '/api/v1/nodes',
    pageSize: 2,
    pages: (k8s, config) => {
      const core = config.makeApiClient(k8s.CoreV1Api);
      return async (request, signal) => {
        const page = await core.listNode(request, withSignal(k8s, signal));
        if (++pages === 1) {
          // Writes elsewhere, then compaction: the snapshot the continue token names is gone.
          api.serviceCIDRs.upsert(k8sServiceCidr('churn', ['198.19.251.0/24']));
          api.serviceCIDRs.remove('churn');
          api.nodes.compact();
        }
        return page;
      };
    },
  });
  const before = api.lists().length;
  const reflector = new Reflector({ listWatch, listRetryMinMs: 10, listRetryMaxMs: 20 });
  const synced = new Promise<void>((resolve) => reflector.once('synced', resolve));
  reflector.start();
  await synced;
  await reflector.stop();
  const requests = api.lists().slice(before);
  // A continued page names no resourceVersion: its token carries the snapshot (the API refuses both).
  const shape = requests.map((r) => `${r.query.resourceVersion ?? '-'} ${r.query.limit} ${r.query.continue === undefined ? 'first' : 'continue'} ${r.status}`);
  assert.deepEqual(shape.slice(0, 4), ['0 2 first 200', '- 2 continue 410', '- 2 first 200', '- 2 continue 200'], 'restarted from the first page, from etcd');
  assert.ok(shape.slice(3).every((r) => r === '- 2 continue 200'));
  assert.deepEqual([...reflector.objects().keys()].sort(), [...api.nodes.objects.keys()].sort());
});

test('stopping ends the watch and leaves the pool as it was', async () => {
  const tunnels: Array<Tunnel | undefined> = names().map((n) => pool.get(n));
  await inventory.stop();
  await waitFor('no open watch', () => api.nodes.watchers.size === 0);
  api.nodes.remove('n1');
  await settle();
  assert.deepEqual(names().map((n) => pool.get(n)), tunnels);
});
