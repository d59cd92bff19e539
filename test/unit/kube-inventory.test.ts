// From Node objects to the node set the pool gets: mapping, the ready filter, nodes left out with a
// warning (never failing the others), last good specs kept, bursts debounced, equal sets not re-sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InventoryError } from '../../src/errors.js';
import { KubeInventory } from '../../src/kube/kube-inventory.js';
import type { ListWatch, WatchHandlers } from '../../src/kube/list-watch.js';
import { isNodeReady, mapNodes } from '../../src/kube/node-mapping.js';
import { nodesFromNodeList } from '../../src/nodes/node-list.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { k8sNode } from '../fixtures/kube-objects.js';
import { captureLogger } from './capture-logger.js';

const objects = (...nodes: Record<string, unknown>[]) => new Map(nodes.map((n) => [(n.metadata as { name: string }).name, n]));
const options = { source: 'Kubernetes API https://192.0.2.1:6443' };

test('mapNodes: address, aliases, kubelet port, pod CIDRs, labels, the configured sshd port; sorted by name', () => {
  const mapped = mapNodes(
    objects(k8sNode({ name: 'w2', address: '198.18.0.12', podCIDR: '198.19.2.0/24', kubeletPort: 10255 }), k8sNode({ name: 'w1', address: '198.18.0.11', labels: { zone: 'a' } })),
    new Map(),
    { ...options, sshPort: 2222 },
  );
  assert.deepEqual(mapped.problems, new Map());
  assert.deepEqual(
    mapped.nodes.map((n) => [n.name, n.address, n.aliases, n.sshPort, n.kubeletPort, n.podCIDRs]),
    [
      ['w1', '198.18.0.11', ['w1'], 2222, 10250, []],
      ['w2', '198.18.0.12', ['w2'], 2222, 10255, ['198.19.2.0/24']],
    ],
  );
  assert.equal(mapped.nodes[0]?.labels.zone, 'a');
});

test('mapNodes: a node without a usable address is left out with the reason; the others are untouched', () => {
  const mapped = mapNodes(objects(k8sNode({ name: 'w1', address: '198.18.0.11' }), k8sNode({ name: 'w2' })), new Map(), { ...options, addressTypes: ['InternalIP'] });
  assert.deepEqual(mapped.nodes.map((n) => n.name), ['w1']);
  assert.equal(mapped.problems.get('w2'), 'node "w2": status.addresses: no address of type InternalIP (it has Hostname); left out');
});

test('mapNodes: a node that loses its addresses keeps its last usable spec', () => {
  const before = mapNodes(objects(k8sNode({ name: 'w1', address: '198.18.0.11' })), new Map(), { ...options, addressTypes: ['InternalIP'] }).nodes;
  const after = mapNodes(objects(k8sNode({ name: 'w1' })), new Map(before.map((n) => [n.name, n])), { ...options, addressTypes: ['InternalIP'] });
  assert.deepEqual(after.nodes, before);
  assert.match(after.problems.get('w1') ?? '', /keeping its last usable address 198\.18\.0\.11$/);
});

test('mapNodes: two nodes with one address: the first by name stays, the other is left out', () => {
  const mapped = mapNodes(objects(k8sNode({ name: 'b', address: '198.18.0.11' }), k8sNode({ name: 'a', address: '198.18.0.11' })), new Map(), options);
  assert.deepEqual(mapped.nodes.map((n) => n.name), ['a']);
  assert.match(mapped.problems.get('b') ?? '', /duplicate address "198\.18\.0\.11" \(also node "a"\); left out/);
});

test('readyOnly leaves out nodes whose Ready condition is not True (or missing)', () => {
  const noConditions = k8sNode({ name: 'w3', address: '198.18.0.13' });
  delete (noConditions.status as Record<string, unknown>).conditions;
  const all = objects(k8sNode({ name: 'w1', address: '198.18.0.11' }), k8sNode({ name: 'w2', address: '198.18.0.12', ready: false }), noConditions);
  assert.deepEqual([...all.values()].map(isNodeReady), [true, false, false]);
  const mapped = mapNodes(all, new Map(), { ...options, readyOnly: true });
  assert.deepEqual(mapped.nodes.map((n) => n.name), ['w1']);
  assert.deepEqual(mapped.notReady, ['w2', 'w3']);
  assert.equal(mapNodes(all, new Map(), options).nodes.length, 3, 'without readyOnly every node counts');
});

test('nodesFromNodeList with onSkip reports bad nodes and duplicates instead of failing the list', () => {
  const skipped: InventoryError[] = [];
  const nodes = nodesFromNodeList(
    { kind: 'NodeList', items: [k8sNode({ name: 'w1', address: '198.18.0.11' }), k8sNode({ name: 'w2' }), k8sNode({ name: 'w3', address: '198.18.0.11' })] },
    { source: 'nodes.json', addressTypes: ['InternalIP'], onSkip: (e) => skipped.push(e) },
  );
  assert.deepEqual(nodes.map((n) => n.name), ['w1']);
  assert.deepEqual(
    skipped.map((e) => e.message),
    [
      'nodes.json: items[1] (node "w2").status.addresses: no address of type InternalIP (it has Hostname)',
      'nodes.json: node "w3": status.addresses: duplicate address "198.18.0.11" (also node "w1")',
    ],
  );
  assert.throws(() => nodesFromNodeList({ items: [k8sNode({ name: 'w2' })] }, { addressTypes: ['InternalIP'] }), InventoryError, 'without onSkip it still throws');
  assert.throws(() => nodesFromNodeList({ items: [] }, { addressTypes: [], onSkip: () => undefined }), /addressTypes is empty/);
});

/** A ListWatch with one list answer and one watch the test drives. */
function scripted(items: unknown[]) {
  let handlers: WatchHandlers | undefined;
  const lw: ListWatch = {
    what: 'nodes',
    list: async () => ({ items: structuredClone(items), resourceVersion: '100' }),
    watch: async (_rv, _t, h) => {
      handlers = h;
      return { abort: () => undefined };
    },
  };
  const watch = (): WatchHandlers => {
    if (!handlers) throw new Error('no watch yet');
    return handlers;
  };
  return { lw, watch, opened: () => handlers !== undefined };
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('KubeInventory: the first set at once, a burst of events as one call, equal sets not sent again', async () => {
  const api = scripted([k8sNode({ name: 'w1', address: '198.18.0.11' })]);
  const calls: NodeSpec[][] = [];
  const { logger, entries } = captureLogger();
  const inventory = new KubeInventory({ listWatch: api.lw, debounceMs: 40, onNodes: (n) => calls.push(n), logger });
  inventory.start();
  assert.deepEqual((await inventory.synced).map((n) => n.name), ['w1']);
  assert.equal(calls.length, 1);
  await until(api.opened);
  // A burst: add, remove and add w2 again, change w1's labels, and a node with no address.
  api.watch().event('ADDED', k8sNode({ name: 'w2', address: '198.18.0.12' }));
  api.watch().event('DELETED', k8sNode({ name: 'w2', address: '198.18.0.12' }));
  api.watch().event('ADDED', k8sNode({ name: 'w2', address: '198.18.0.12' }));
  api.watch().event('MODIFIED', k8sNode({ name: 'w1', address: '198.18.0.11', labels: { zone: 'b' } }));
  api.watch().event('ADDED', k8sNode({ name: 'broken' }));
  await until(() => calls.length === 2);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(calls.length, 2, 'the burst applied once');
  assert.deepEqual(calls[1]?.map((n) => n.name), ['broken', 'w1', 'w2'], 'broken has a Hostname address, so it is usable by default');
  assert.equal(calls[1]?.find((n) => n.name === 'w1')?.labels.zone, 'b');
  // A status heartbeat (nothing the pool uses changes): no call.
  const heartbeat = k8sNode({ name: 'w2', address: '198.18.0.12' });
  (heartbeat.status as Record<string, unknown>).nodeInfo = { kubeletVersion: 'v1.33.2' };
  api.watch().event('MODIFIED', heartbeat);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(calls.length, 2);
  assert.deepEqual(inventory.nodes().map((n) => n.name), ['broken', 'w1', 'w2']);
  await inventory.stop();
  assert.equal(entries.filter((e) => e.level === 'warn').length, 0);
});

test('KubeInventory: an unusable node is warned about once and never disturbs the others', async () => {
  const api = scripted([k8sNode({ name: 'w1', address: '198.18.0.11' }), k8sNode({ name: 'w2' })]);
  const calls: NodeSpec[][] = [];
  const { logger, entries } = captureLogger();
  const inventory = new KubeInventory({ listWatch: api.lw, debounceMs: 10, addressTypes: ['InternalIP'], onNodes: (n) => calls.push(n), logger });
  inventory.start();
  await inventory.synced;
  await until(api.opened);
  assert.deepEqual(calls[0]?.map((n) => n.name), ['w1']);
  const warnings = () => entries.filter((e) => e.level === 'warn').map((e) => e.message);
  assert.deepEqual(warnings(), ['node w2: node "w2": status.addresses: no address of type InternalIP (it has Hostname); left out']);
  api.watch().event('MODIFIED', k8sNode({ name: 'w2', labels: { again: 'yes' } }));
  api.watch().event('MODIFIED', k8sNode({ name: 'w1', address: '198.18.0.11', labels: { zone: 'c' } }));
  await until(() => calls.length === 2);
  assert.equal(warnings().length, 1, 'the same problem is not logged again');
  api.watch().event('MODIFIED', k8sNode({ name: 'w2', address: '198.18.0.12' }));
  await until(() => calls.length === 3);
  assert.deepEqual(calls[2]?.map((n) => n.name), ['w1', 'w2']);
  assert.ok(entries.some((e) => e.message === 'node w2 is usable again'));
  assert.deepEqual(inventory.status().problems, {});
  await inventory.stop();
});

test('KubeInventory: stop() before the first list rejects synced and sends nothing', async () => {
  const lw: ListWatch = { what: 'nodes', list: () => new Promise(() => undefined), watch: async () => ({ abort: () => undefined }) };
  const calls: NodeSpec[][] = [];
  const inventory = new KubeInventory({ listWatch: lw, onNodes: (n) => calls.push(n), reflector: { listTimeoutMs: 50, listRetryMinMs: 5, listRetryMaxMs: 10 } });
  inventory.start();
  await inventory.stop();
  await assert.rejects(inventory.synced, /stopped before the first list/);
  assert.equal(calls.length, 0);
});
