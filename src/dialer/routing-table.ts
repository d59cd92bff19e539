import type { NodeSpec } from '../nodes/node-spec.js';
import { normalizeIp } from '../net/address.js';
import { parseCidr, type Cidr } from '../net/cidr.js';

/** Lookups from what a target names to the node that owns it, rebuilt when the node set changes. */
export interface RoutingTable {
  /** By node name, lower-case. */
  byName: Map<string, NodeSpec>;
  /** By address or alias: canonical IPs and lower-case host names. */
  byAddress: Map<string, NodeSpec>;
  /** Pod CIDRs with their owners, in inventory order. */
  podCIDRs: Array<{ cidr: Cidr; node: NodeSpec }>;
}

function addressKey(address: string): string {
  return normalizeIp(address) ?? address.toLowerCase().replace(/\.$/, '');
}

export function buildRoutingTable(nodes: readonly NodeSpec[]): RoutingTable {
  const table: RoutingTable = { byName: new Map(), byAddress: new Map(), podCIDRs: [] };
  for (const node of nodes) {
    table.byName.set(node.name.toLowerCase(), node);
    for (const address of [node.address, ...node.aliases]) table.byAddress.set(addressKey(address), node);
    for (const text of node.podCIDRs) {
      const cidr = parseCidr(text);
      if (cidr) table.podCIDRs.push({ cidr, node });
    }
  }
  return table;
}

/** The node a host (name, address or alias) identifies, if any. */
export function nodeForHost(table: RoutingTable, host: string): NodeSpec | undefined {
  return table.byName.get(host.toLowerCase()) ?? table.byAddress.get(addressKey(host));
}
