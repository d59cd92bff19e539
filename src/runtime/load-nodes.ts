import type { InventorySource } from '../config/config-types.js';
import type { KubernetesInventorySettings } from '../kube/kube-settings.js';
import { listKubeNodes } from '../kube/list-nodes.js';
import type { Logger } from '../log.js';
import { loadInventory } from '../nodes/load-inventory.js';
import type { NodeSpec } from '../nodes/node-spec.js';

type KubernetesInventory = Extract<InventorySource, { kind: 'kubernetes' }>;

/**
 * The nodes the inventory names: read from its file each call (so a reload sees changes), the inline list,
 * or one list call to the Kubernetes API (the daemon watches instead: KubernetesInventoryRunner). `logger`
 * gets the warnings about Kubernetes nodes left out.
 */
export async function loadNodes(inventory: InventorySource, options: { logger?: Logger } = {}): Promise<NodeSpec[]> {
  switch (inventory.kind) {
    case 'inline':
      return inventory.nodes.map((n) => structuredClone(n));
    case 'file':
      return loadInventory(inventory.path, inventory.addressTypes === undefined ? {} : { addressTypes: inventory.addressTypes });
    case 'kubernetes':
      return listKubeNodes(withoutKind(inventory), options);
  }
}

/** The Kubernetes settings of a `kubernetes` inventory; undefined for any other kind. */
export function kubernetesSettingsOf(inventory: InventorySource): KubernetesInventorySettings | undefined {
  return inventory.kind === 'kubernetes' ? withoutKind(inventory) : undefined;
}

function withoutKind({ kind: _kind, ...settings }: KubernetesInventory): KubernetesInventorySettings {
  return settings;
}
