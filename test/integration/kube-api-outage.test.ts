// The node inventory across a Kubernetes API outage, counting full lists at the API stand-in: an outage
// (the server gone, connections refused) costs no list, the watch being retried from the last version seen;
// an outage across which that version was compacted away (410 Gone) costs exactly one, a consistent read.
// This is what keeps an API server restart from becoming a list storm when many daemons watch it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadKubeConfig } from '../../src/kube/kube-config.js';
import { KubeInventory } from '../../src/kube/kube-inventory.js';
import { k8sNode } from '../fixtures/kube-objects.js';
import { startKubeApiStandIn, type GoneAs, type KubeApiStandIn } from './kube-api-server.js';

const nodeObject = (k: number) => k8sNode({ name: `n${k}`, address: `127.0.1.${k}`, podCIDR: `198.19.${k}.0/24` });

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A stand-in with nodes n1..n3 and a synced inventory watching it. */
async function watching(t: TestContext, goneAs: GoneAs = 'event'): Promise<{ api: KubeApiStandIn; inventory: KubeInventory; names: () => string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'kube-api-outage-test-'));
  const api = await startKubeApiStandIn({ dir, goneAs });
  for (let k = 1; k <= 3; k++) api.nodes.upsert(nodeObject(k));
  const inventory = new KubeInventory({
    kubeConfig: await loadKubeConfig({ kubeconfig: api.kubeconfigFile }),
    debounceMs: 10,
    reflector: { watchRetryPolicy: () => 20, listRetryMinMs: 10, listRetryMaxMs: 20 },
  });
  t.after(async () => {
    await inventory.stop();
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });
  inventory.start();
  await inventory.synced;
  await waitFor('the watch', () => api.nodes.watchers.size === 1);
  assert.deepEqual(
    api.lists().map((r) => r.query.resourceVersion),
    ['0'],
    'the first list from the watch cache',
  );
  return { api, inventory, names: () => inventory.nodes().map((n) => n.name) };
}

/** The server goes away until 8 watches have been refused: more than the 5 after which the reflector once listed. */
async function outage(api: KubeApiStandIn, inventory: KubeInventory): Promise<void> {
  await api.down();
  const watches = inventory.status().watches;
  await waitFor('8 refused watches', () => inventory.status().watches >= watches + 8);
}

test('an API outage without 410: 0 extra lists; the watch is retried from the last version and catches up', async (t) => {
  const { api, inventory, names } = await watching(t);
  const lastSeen = inventory.status().resourceVersion;
  const watchesBefore = api.watches().length;
  await outage(api, inventory);
  assert.match(inventory.status().lastError ?? '', /ECONNREFUSED/);
  assert.deepEqual(names(), ['n1', 'n2', 'n3'], 'the last known nodes stand while the API is away');
  // The cluster changes while this daemon cannot see it; the history is kept (no compaction).
  api.nodes.upsert(nodeObject(4));
  api.nodes.remove('n1');
  await api.up();
  await waitFor('the changes made during the outage', () => names().join() === 'n2,n3,n4');
  assert.equal(api.lists().length, 1, 'no list after the first');
  assert.equal(api.watches()[watchesBefore]?.query.resourceVersion, lastSeen, 'the first watch after the outage resumes from the last version seen');
});

for (const goneAs of ['event', 'status'] as const) {
  test(`an API outage across which the version was compacted (410 as ${goneAs === 'event' ? 'a watch ERROR event' : 'the watch status'}): exactly one re-list, a consistent read`, async (t) => {
    const { api, inventory, names } = await watching(t, goneAs);
    await outage(api, inventory);
    api.nodes.remove('n2');
    api.nodes.compact();
    await api.up();
    await waitFor('n2 gone', () => names().join() === 'n1,n3');
    await waitFor('a watch from the new list', () => api.nodes.watchers.size === 1);
    const relist = api.lists()[1];
    assert.equal(api.lists().length, 2, 'one list after the 410');
    assert.equal(relist?.query.resourceVersion, undefined, 'from etcd: the watch cache could be older than what was seen');
    assert.equal(relist?.status, 200);
    assert.equal(api.watches().at(-1)?.query.resourceVersion, inventory.status().resourceVersion);
    // Later events come through the new watch, with no further list.
    api.nodes.upsert(nodeObject(5));
    await waitFor('n5', () => names().includes('n5'));
    assert.equal(api.lists().length, 2);
  });
}
