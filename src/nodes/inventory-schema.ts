/**
 * Our own inventory format (`nodes: [...]`, YAML or JSON), its value rules, and the helpers that turn a
 * validation problem into a message naming the node and the field. node-list.ts shares the rules and helpers
 * so both formats report errors the same way.
 */
import { z } from 'zod';
import { InventoryError } from '../errors.js';
import { isIp, normalizeIp } from '../net/address.js';
import { cidrRule, portRule } from '../options/option-rules.js';
import { normalizeCidr } from '../net/cidr.js';
import { isDns1123Subdomain, isHostName, normalizeHostName } from '../net/hostname.js';
import { formatPath } from '../util/field-path.js';
import { isRecord } from '../util/is-record.js';
import { describeIssue } from '../util/zod-issues.js';
import { oneOf, rule } from '../util/zod-rule.js';
import { parseAgentKey } from './agent-key.js';
import { DEFAULT_KUBELET_PORT, DEFAULT_SSH_PORT, type NodeSpec } from './node-spec.js';
import { TUNNEL_MODES } from './tunnel-mode.js';

// ---- value rules -------------------------------------------------------------------------------------------

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A Kubernetes node name: a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.'). */
export function isNodeName(value: unknown): value is string {
  return typeof value === 'string' && isDns1123Subdomain(value);
}

/** An address sshd can be reached at: an IPv4 or IPv6 literal or a DNS name. */
export function isHost(value: unknown): value is string {
  return typeof value === 'string' && (isIp(value) || isHostName(value));
}

/** Canonical text so equal addresses compare equal: compressed lower-case IPv6, lower-case names. */
export function normalizeHost(host: string): string {
  return normalizeIp(host) ?? normalizeHostName(host);
}

/** Aliases without repeats and without the address itself. */
export function uniqueAliases(address: string, aliases: readonly string[]): string[] {
  return [...new Set(aliases.map(normalizeHost))].filter((a) => a !== address);
}

// ---- where and what: messages ------------------------------------------------------------------------------

/**
 * Names a field of a node: 'nodes[3] (node "w4").podCIDRs[0]'. `at` is where the node sits in the document
 * ('' for a lone Node object, which gives 'node "w4": status.addresses'); `name` is added when known.
 */
export function nodeFieldPath(at: string, name: string | undefined, field: readonly PropertyKey[]): string {
  const label = name === undefined ? '' : `node ${JSON.stringify(name)}`;
  const where = at && label ? `${at} (${label})` : at || label;
  const rest = formatPath(field);
  if (!rest) return where;
  if (!where) return rest;
  return at ? `${where}${rest.startsWith('[') ? '' : '.'}${rest}` : `${where}: ${rest}`;
}

// ---- the schema ----------------------------------------------------------------------------------------------

export const nodeNameRule = rule<string>(isNodeName, "a valid node name (lower-case letters, digits, '-' and '.')");
export const hostRule = rule<string>(isHost, 'an IP address or DNS name');
const fingerprintRule = rule<string>(
  (v) => typeof v === 'string' && FINGERPRINT.test(v),
  'a host key fingerprint ("SHA256:" and 43 base64 characters, as ssh-keygen -lf prints)',
);
export const labelsRule = z.record(z.string(), z.string());
const agentKeyRule = rule<string>(
  (v) => typeof v === 'string' && !/[\n\r]/.test(v) && parseAgentKey(v) !== undefined,
  'an OpenSSH public key line ("ssh-ed25519 AAAA... comment", as in a .pub file)',
);
export const tunnelModeRule = oneOf(TUNNEL_MODES);

const nodeEntryShape = {
  name: nodeNameRule,
  address: hostRule,
  aliases: z.array(hostRule).optional(),
  sshPort: portRule.optional(),
  kubeletPort: portRule.optional(),
  podCIDRs: z.array(cidrRule).optional(),
  hostKeyFingerprints: z.array(fingerprintRule).optional(),
  labels: labelsRule.optional(),
  agentKeys: z.array(agentKeyRule).optional(),
  tunnel: tunnelModeRule.optional(),
};

/** One node of our format, defaults filled; the config's inline `inventory.nodes` uses it too. */
export const nodeEntrySchema = z.strictObject(nodeEntryShape).transform((n): NodeSpec => {
  const address = normalizeHost(n.address);
  return {
    name: n.name,
    address,
    aliases: uniqueAliases(address, n.aliases ?? []),
    sshPort: n.sshPort ?? DEFAULT_SSH_PORT,
    kubeletPort: n.kubeletPort ?? DEFAULT_KUBELET_PORT,
    podCIDRs: (n.podCIDRs ?? []).map((c) => normalizeCidr(c) ?? c),
    hostKeyFingerprints: n.hostKeyFingerprints ?? [],
    labels: n.labels ?? {},
    // Only when given, so a forward-only inventory reads exactly as before.
    ...(n.agentKeys && { agentKeys: n.agentKeys.map((k) => k.trim()) }),
    ...(n.tunnel && { tunnel: n.tunnel }),
  };
});

/** The whole file: `nodes:` and nothing else, so a typo in a field name is an error, not a silent default. */
export const inventorySchema = z.strictObject({ nodes: z.array(nodeEntrySchema) });

/** Validates our format and returns the nodes with defaults filled; throws InventoryError naming node and field. */
export function nodesFromInventory(data: unknown, source: string): NodeSpec[] {
  const result = inventorySchema.safeParse(data, { reportInput: true });
  if (!result.success) {
    const [first, ...more] = result.error.issues;
    if (!first) throw new InventoryError(source, '', 'invalid inventory');
    const { field, problem } = describeIssue(first);
    const extra = more.length ? ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})` : '';
    const known = first.code === 'unrecognized_keys' ? ` (known fields: ${knownFields(first.path).join(', ')})` : '';
    const nodes = isRecord(data) && Array.isArray(data.nodes) ? data.nodes : [];
    const { path, node } = inventoryIssuePath(field, (i) => nodeNameOf(nodes[i]));
    throw new InventoryError(source, path, `${problem}${known}${extra}`, { node });
  }
  const nodes = result.data.nodes;
  assertUniqueNodes(nodes, source, { collection: 'nodes', nameField: ['name'], addressField: ['address'] });
  return nodes;
}

/**
 * Turns a zod issue path into text: ["nodes", 3, "podCIDRs", 0] -> 'nodes[3] (node "w4").podCIDRs[0]'. The node's
 * name is added when known, except on the name field itself (where the name is what is wrong).
 */
export function inventoryIssuePath(
  segments: readonly PropertyKey[],
  nameAt: (index: number) => string | undefined,
): { path: string; node: string | undefined } {
  const [head, index, ...field] = segments;
  if (typeof head !== 'string' || typeof index !== 'number') return { path: formatPath(segments), node: undefined };
  const node = field[0] === 'name' ? undefined : nameAt(index);
  return { path: nodeFieldPath(`${head}[${index}]`, node, field), node };
}

function knownFields(path: readonly PropertyKey[]): string[] {
  return Object.keys(path.length === 0 ? inventorySchema.shape : nodeEntryShape);
}

function nodeNameOf(entry: unknown): string | undefined {
  return isRecord(entry) && typeof entry.name === 'string' && entry.name ? entry.name : undefined;
}

// ---- across nodes ------------------------------------------------------------------------------------------

export interface NodeFieldNames {
  /** 'nodes' or 'items': where the node list sits. */
  collection: string;
  nameField: PropertyKey[];
  addressField: PropertyKey[];
}

/** Two nodes with one name, or one address, would make routing ambiguous: refuse them. */
export function assertUniqueNodes(nodes: readonly NodeSpec[], source: string, fields: NodeFieldNames): void {
  const names = new Map<string, number>();
  const addresses = new Map<string, number>();
  nodes.forEach((node, i) => {
    const at = `${fields.collection}[${i}]`;
    const sameName = names.get(node.name);
    if (sameName !== undefined) {
      const where = `${fields.collection}[${sameName}]`;
      throw new InventoryError(source, nodeFieldPath(at, undefined, fields.nameField), `duplicate node name ${JSON.stringify(node.name)} (also ${where})`, { node: node.name });
    }
    names.set(node.name, i);
    const sameAddress = addresses.get(node.address);
    if (sameAddress !== undefined) {
      const other = nodes[sameAddress]?.name ?? '';
      const where = nodeFieldPath(`${fields.collection}[${sameAddress}]`, other, []);
      throw new InventoryError(source, nodeFieldPath(at, node.name, fields.addressField), `duplicate address ${JSON.stringify(node.address)} (also ${where})`, { node: node.name });
    }
    addresses.set(node.address, i);
  });
}
