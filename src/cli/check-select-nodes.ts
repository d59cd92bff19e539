import { ConfigError } from '../errors.js';
import type { NodeSpec } from '../nodes/node-spec.js';

/**
 * The nodes named on the command line (by name, address or alias), in inventory order; all of them when
 * none are named. An unknown name is a usage error: checking fewer nodes than asked must not look like success.
 */
export function selectNodes(all: readonly NodeSpec[], wanted: readonly string[]): NodeSpec[] {
  if (all.length === 0) throw new ConfigError('', 'the inventory has no nodes');
  if (wanted.length === 0) return [...all];
  const chosen = new Set<NodeSpec>();
  const unknown: string[] = [];
  for (const name of wanted) {
    const key = name.toLowerCase();
    const node = all.find((n) => n.name === name) ?? all.find((n) => [n.address, ...n.aliases].some((a) => a.toLowerCase() === key));
    if (node) chosen.add(node);
    else unknown.push(name);
  }
  if (unknown.length > 0) {
    const known = all.slice(0, 10).map((n) => n.name).join(', ') + (all.length > 10 ? `, ... (${all.length} in all)` : '');
    throw new ConfigError('', `unknown node${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the inventory has ${known})`);
  }
  return all.filter((n) => chosen.has(n));
}
