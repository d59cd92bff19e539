/**
 * From the Node objects the API holds to the NodeSpecs the pool gets. A Node that cannot be used is left
 * out and reported, never an error for the whole set; one that was usable and then lost its addresses
 * keeps its last good spec, so a kubelet briefly reporting no addresses does not drop its tunnel.
 */
import { InventoryError } from '../errors.js';
import { isRecord } from '../util/is-record.js';
import { nodeFromK8sNode, withoutDuplicates } from '../nodes/node-list.js';
import type { NodeSpec } from '../nodes/node-spec.js';

export interface NodeMappingOptions {
  addressTypes?: readonly string[];
  sshPort?: number;
  /** Leave out nodes whose Ready condition is not True. */
  readyOnly?: boolean;
  /** Names the API in messages. */
  source: string;
}

export interface MappedNodes {
  /** Usable nodes, sorted by name. */
  nodes: NodeSpec[];
  /** Nodes left out (or kept at their last good spec) and why, by name. */
  problems: Map<string, string>;
  /** Nodes left out because they are not Ready (readyOnly). */
  notReady: string[];
}

/** The Ready condition is True; a node that reports none yet is not ready. */
export function isNodeReady(node: unknown): boolean {
  const conditions = isRecord(node) && isRecord(node.status) ? node.status.conditions : undefined;
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c: unknown) => isRecord(c) && c.type === 'Ready' && c.status === 'True');
}

export function mapNodes(objects: ReadonlyMap<string, unknown>, previous: ReadonlyMap<string, NodeSpec>, options: NodeMappingOptions): MappedNodes {
  const problems = new Map<string, string>();
  const notReady: string[] = [];
  const specs: NodeSpec[] = [];
  for (const name of [...objects.keys()].sort()) {
    const object = objects.get(name);
    if (options.readyOnly && !isNodeReady(object)) {
      notReady.push(name);
      continue;
    }
    try {
      specs.push(nodeFromK8sNode(object, { addressTypes: options.addressTypes, sshPort: options.sshPort, source: options.source }));
    } catch (err) {
      if (!(err instanceof InventoryError)) throw err;
      const kept = previous.get(name);
      if (kept) specs.push(kept);
      problems.set(name, `${problemOf(err)}${kept ? `; keeping its last usable address ${kept.address}` : '; left out'}`);
    }
  }
  const nodes = withoutDuplicates(specs, options.source, (err) => {
    if (err.node !== undefined) problems.set(err.node, `${problemOf(err)}; left out`);
  });
  return { nodes, problems, notReady };
}

/** The message without its "source: " prefix, which the log line already carries. */
function problemOf(err: InventoryError): string {
  const prefix = `${err.source}: `;
  return err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
}
