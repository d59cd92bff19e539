/** The runtime's inventory, whichever kind, as /status's `inventory` (src/frontends/inventory-status.ts). */
import type { InventorySource } from '../config/config-types.js';
import type { InventorySourceStatus, InventoryStatus } from '../frontends/inventory-status.js';
import type { KubeInventory } from '../kube/kube-inventory.js';

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

/** Where the nodes come from; a kubeconfig's server is known only once the watch has loaded it. */
export function inventorySourceStatus(inventory: InventorySource, server?: string): InventorySourceStatus {
  switch (inventory.kind) {
    case 'file':
      return { kind: 'file', path: inventory.path };
    case 'inline':
      return { kind: 'inline' };
    case 'kubernetes': {
      const { kubeconfig, context, inCluster } = inventory;
      return { kind: 'kubernetes', ...(server && { server }), ...(inCluster ? { inCluster } : { ...(kubeconfig && { kubeconfig }), ...(context && { context }) }) };
    }
  }
}

/** A set read once (a file, the inline list, one Kubernetes list): current as of `loadedAt`. */
export function loadedInventoryStatus(inventory: InventorySource, nodes: number, loadedAt: number): InventoryStatus {
  return { source: inventorySourceStatus(inventory), synced: true, nodes, lastSyncAt: iso(loadedAt), failingSince: undefined, lastError: undefined, errors: {} };
}

/** The live Kubernetes inventory: its list/watch health. */
export function watchedInventoryStatus(inventory: InventorySource, watched: KubeInventory): InventoryStatus {
  const status = watched.status();
  const { lastSyncAt, failingSince, lastError, errors } = status.health;
  return {
    source: inventorySourceStatus(inventory, watched.apiServer),
    synced: status.synced,
    nodes: status.nodes,
    lastSyncAt: iso(lastSyncAt),
    failingSince: iso(failingSince),
    lastError: lastError && { code: lastError.code, message: lastError.message, at: iso(lastError.at)! },
    resourceVersion: status.resourceVersion,
    errors,
  };
}
