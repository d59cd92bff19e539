import { Counter, Gauge, type Registry } from 'prom-client';
import type { InventoryStatusSource } from './inventory-status.js';

/**
 * Exports the inventory's health: when it last synced, its failures by code, and its size. The counts
 * come from the inventory as totals; a reload that replaces the Kubernetes watch starts them again from 0,
 * so a total lower than the last one seen is all new.
 */
export function registerInventoryMetrics(registry: Registry, prefix: string, inventory: InventoryStatusSource): void {
  const registers = [registry];
  const lastSeen = new Map<string, number>();
  new Gauge({
    name: `${prefix}inventory_last_sync_timestamp_seconds`,
    help: 'When the node inventory was last known current (loaded, or a successful Kubernetes list, watch open or event), Unix time.',
    registers,
    collect() {
      const at = inventory()?.lastSyncAt;
      if (at !== undefined) this.set(Date.parse(at) / 1000);
    },
  });
  new Counter({
    name: `${prefix}inventory_errors_total`,
    help: 'Failed Kubernetes list and watch calls of the node inventory, by code (ERR_KUBE_UNREACHABLE, ERR_KUBE_FORBIDDEN, ...).',
    labelNames: ['reason'],
    registers,
    collect() {
      for (const [reason, total] of Object.entries(inventory()?.errors ?? {})) {
        const last = lastSeen.get(reason) ?? 0;
        this.inc({ reason }, total >= last ? total - last : total);
        lastSeen.set(reason, total);
      }
    },
  });
  new Gauge({
    name: `${prefix}inventory_nodes`,
    help: 'Nodes in the current inventory.',
    registers,
    collect() {
      this.set(inventory()?.nodes ?? 0);
    },
  });
}
