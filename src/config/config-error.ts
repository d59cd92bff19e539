/**
 * The config file's side of ConfigErrors: inline inventory nodes are named as in an inventory file, and
 * inventory errors are re-told under `inventory.`. The converter itself is options/option-error.ts.
 */
import type { ConfigError, InventoryError } from '../errors.js';
import { inventoryIssuePath } from '../nodes/inventory-schema.js';
import { formatPath } from '../util/field-path.js';
import { configError, type IssuePathOf } from '../options/option-error.js';

/** An inventory error from inline nodes (duplicates) as a ConfigError under `inventory.`. */
export function configErrorFromInventory(err: InventoryError, source: string): ConfigError {
  const prefix = `${err.source}: ${err.path ? `${err.path}: ` : ''}`;
  return configError(source, err.path, err.message.slice(prefix.length), { ...(err.node && { node: err.node }) });
}

/** Inline nodes are named as in an inventory file: 'inventory.nodes[3] (node "w4").podCIDRs[0]'. */
export const configFileIssuePath: IssuePathOf = (field, data) => {
  if (field[0] !== 'inventory' || field[1] !== 'nodes' || typeof field[2] !== 'number') return { path: formatPath(field), node: undefined };
  const nodes = (data as { inventory?: { nodes?: unknown } }).inventory?.nodes;
  const { path, node } = inventoryIssuePath(['inventory.nodes', ...field.slice(2)], (i) => nodeName(Array.isArray(nodes) ? nodes[i] : undefined));
  return { path, node };
};

function nodeName(entry: unknown): string | undefined {
  const name = (entry as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' && name ? name : undefined;
}

