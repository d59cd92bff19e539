// The inventory line of /readyz?verbose and `ssh-egress status`: current, stale (and how long), not synced,
// and not-ready only past readiness.maxInventoryStalenessSeconds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventorySummary } from '../../src/cli/output/status-table.js';
import { palette } from '../../src/cli/output/colour.js';
import type { AdminStatus } from '../../src/frontends/admin-status.js';
import { describeSource, inventoryReadiness, inventoryStaleSeconds, type InventoryStatus } from '../../src/frontends/inventory-status.js';

const NOW = Date.parse('2026-01-01T00:10:00Z');
const at = (secondsAgo: number): string => new Date(NOW - secondsAgo * 1000).toISOString();

const kube = (extra: Partial<InventoryStatus> = {}): InventoryStatus => ({
  source: { kind: 'kubernetes', server: 'https://127.0.0.1:6443', kubeconfig: '/etc/kubeconfig', context: 'prod' },
  synced: true,
  nodes: 2,
  lastSyncAt: at(3),
  failingSince: undefined,
  lastError: undefined,
  resourceVersion: '1234',
  errors: {},
  ...extra,
});

const outage = (secondsAgo: number): Partial<InventoryStatus> => ({
  lastSyncAt: at(secondsAgo),
  failingSince: at(secondsAgo - 1),
  lastError: { code: 'ERR_KUBE_UNREACHABLE', message: 'connect ECONNREFUSED 127.0.0.1:6443', at: at(0) },
  errors: { ERR_KUBE_UNREACHABLE: 4 },
});

test('sources in words', () => {
  assert.equal(describeSource(kube().source), 'kubernetes https://127.0.0.1:6443 (context prod)');
  assert.equal(describeSource({ kind: 'kubernetes', server: 'https://10.96.0.1:443', inCluster: true }), 'kubernetes https://10.96.0.1:443 (in-cluster)');
  assert.equal(describeSource({ kind: 'file', path: '/etc/ssh-egress/nodes.yaml' }), 'file /etc/ssh-egress/nodes.yaml');
  assert.equal(describeSource({ kind: 'inline' }), 'inline');
});

test('a current inventory is ready and says when it last synced', () => {
  assert.equal(inventoryStaleSeconds(kube(), NOW), 0);
  assert.deepEqual(inventoryReadiness(kube(), 10, NOW), {
    ready: true,
    stale: false,
    line: 'inventory: kubernetes https://127.0.0.1:6443 (context prod), 2 nodes, current (last sync 3s ago)',
  });
});

test('a failing inventory stays ready without a limit, and says how stale', () => {
  const status = kube(outage(25));
  assert.equal(inventoryStaleSeconds(status, NOW), 25, 'since the last sync, not since the first failure');
  assert.deepEqual(inventoryReadiness(status, undefined, NOW), {
    ready: true,
    stale: true,
    line: 'inventory: kubernetes https://127.0.0.1:6443 (context prod), 2 nodes, STALE for 25s: ERR_KUBE_UNREACHABLE connect ECONNREFUSED 127.0.0.1:6443',
  });
});

test('maxInventoryStalenessSeconds: not ready once exceeded, ready up to it', () => {
  const status = kube(outage(25));
  assert.equal(inventoryReadiness(status, 25, NOW).ready, true);
  const over = inventoryReadiness(status, 20, NOW);
  assert.equal(over.ready, false);
  assert.match(over.line, /STALE for 25s \(max 20s\): ERR_KUBE_UNREACHABLE/);
});

test('not synced yet: the reason, and no second not-ready (the empty node set already is one)', () => {
  const status = kube({ synced: false, nodes: 0, ...outage(5), lastSyncAt: undefined });
  const r = inventoryReadiness(status, 1, NOW);
  assert.equal(r.ready, true);
  assert.equal(r.stale, true);
  assert.match(r.line, /^inventory: kubernetes .*, not synced yet: ERR_KUBE_UNREACHABLE connect ECONNREFUSED/);
});

test('a file inventory: loaded, current', () => {
  const status: InventoryStatus = { source: { kind: 'file', path: '/srv/nodes.yaml' }, synced: true, nodes: 1, lastSyncAt: at(60), failingSince: undefined, lastError: undefined, errors: {} };
  assert.equal(inventoryReadiness(status, undefined, NOW).line, 'inventory: file /srv/nodes.yaml, 1 node, current (last sync 60s ago)');
});

test('ssh-egress status prints the line, marked when stale; nothing from a daemon that does not report it', () => {
  const base: AdminStatus = { version: '0.1.0', uptimeSeconds: 1, ready: { ready: true, readyCount: 0, total: 0, reasons: [], readyFraction: 0.5 }, tunnels: [], nodesWithoutTunnel: [] };
  assert.equal(inventorySummary(base, palette(false), NOW), undefined);
  assert.match(inventorySummary({ ...base, inventory: kube() }, palette(false), NOW) ?? '', /2 nodes, current/);
  const stale = inventorySummary({ ...base, inventory: kube(outage(25)) }, palette(true), NOW) ?? '';
  assert.match(stale, /STALE for 25s/);
  assert.notEqual(stale, inventorySummary({ ...base, inventory: kube(outage(25)) }, palette(false), NOW), 'coloured on a terminal');
});
