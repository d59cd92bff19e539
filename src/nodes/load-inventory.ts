/**
 * Reads a node inventory file and tells the formats apart: ours (`nodes:`) or a Kubernetes NodeList / Node
 * (`kubectl get nodes -o json`). Every error names the file, and the node and field when there is one.
 */
import { readFile } from 'node:fs/promises';
import { parseYaml } from '../util/parse-yaml.js';
import { InventoryError } from '../errors.js';
import { isRecord } from '../util/is-record.js';
import { show } from '../util/show-value.js';
import { nodesFromInventory } from './inventory-schema.js';
import { nodesFromNodeList } from './node-list.js';
import type { NodeSpec } from './node-spec.js';

export interface InventoryOptions {
  /** For NodeLists: status.addresses types to use as the node's address, most preferred first. */
  addressTypes?: readonly string[];
}

const EXPECTED = 'expected an inventory with "nodes:" or a Kubernetes NodeList or Node ("kind: NodeList", "items:")';

const READ_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory, not a file',
};

export async function loadInventory(path: string, options: InventoryOptions = {}): Promise<NodeSpec[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const why = READ_PROBLEMS[code] ?? (err instanceof Error ? err.message : String(err));
    throw new InventoryError(path, '', `cannot read inventory: ${why}`, { cause: err });
  }
  return parseInventory(text, path, options);
}

/** Parses inventory text (YAML or JSON); `source` names it in errors. */
export function parseInventory(text: string, source: string, options: InventoryOptions = {}): NodeSpec[] {
  const data = parseDocument(text, source);
  if (!isRecord(data)) {
    const got = data === null || data === undefined ? 'an empty document' : show(data);
    throw new InventoryError(source, '', `${EXPECTED}, got ${got}`);
  }
  if (data.kind === 'Node' || data.kind === 'NodeList' || Array.isArray(data.items)) {
    return nodesFromNodeList(data, { addressTypes: options.addressTypes, source });
  }
  if (data.kind !== undefined) throw new InventoryError(source, 'kind', `${show(data.kind)} is not a Node or NodeList`);
  if ('nodes' in data) return nodesFromInventory(data, source);
  const keys = Object.keys(data);
  const has = keys.length ? `; it has ${keys.slice(0, 5).join(', ')}` : '';
  throw new InventoryError(source, '', `${EXPECTED}${has}`);
}

function parseDocument(text: string, source: string): unknown {
  // A NodeList of a big cluster is tens of MB of JSON: JSON.parse is far faster than a YAML parser there.
  if (/^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text);
    } catch {
      // Not strict JSON (comments, trailing commas, or YAML flow style): the YAML parser decides and locates errors.
    }
  }
  return parseYaml(text, (message, cause) => new InventoryError(source, '', message, { cause }));
}
