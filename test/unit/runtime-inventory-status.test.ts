// /status's inventory object for each kind of inventory: a file or inline list (loaded at), and the
// Kubernetes source with its kubeconfig and context, or in-cluster.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventorySourceStatus, loadedInventoryStatus } from '../../src/runtime/inventory-status-of.js';

test('a file or inline inventory: synced, its node count and when it was loaded', () => {
  const loadedAt = Date.parse('2026-01-01T00:00:00Z');
  assert.deepEqual(loadedInventoryStatus({ kind: 'file', path: '/etc/ssh-egress/nodes.yaml' }, 3, loadedAt), {
    source: { kind: 'file', path: '/etc/ssh-egress/nodes.yaml' },
    synced: true,
    nodes: 3,
    lastSyncAt: '2026-01-01T00:00:00.000Z',
    failingSince: undefined,
    lastError: undefined,
    errors: {},
  });
  assert.deepEqual(loadedInventoryStatus({ kind: 'inline', nodes: [] }, 0, loadedAt).source, { kind: 'inline' });
});

test('a Kubernetes source: kubeconfig and context, or in-cluster; the server once known', () => {
  assert.deepEqual(inventorySourceStatus({ kind: 'kubernetes', kubeconfig: '/k', context: 'prod', sshPort: 22 }, 'https://10.0.0.1:6443'), {
    kind: 'kubernetes',
    server: 'https://10.0.0.1:6443',
    kubeconfig: '/k',
    context: 'prod',
  });
  assert.deepEqual(inventorySourceStatus({ kind: 'kubernetes', inCluster: true }), { kind: 'kubernetes', inCluster: true });
  assert.deepEqual(inventorySourceStatus({ kind: 'kubernetes' }), { kind: 'kubernetes' }, '$KUBECONFIG or ~/.kube/config');
});
