/**
 * Our own inventory format (`nodes: [...]`, YAML or JSON), its value rules, and the helpers that turn a
 * validation problem into a message naming the node and the field. node-list.ts shares the rules and helpers
 * so both formats report errors the same way.
 */
import { z } from 'zod';
import { InventoryError } from '../errors.js';
import { isIp, normalizeIp, parseIp } from '../net/cidr.js';
import { DEFAULT_KUBELET_PORT, DEFAULT_SSH_PORT, type NodeSpec } from './node-spec.js';

// ---- value rules -------------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/i;
const NODE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** A Kubernetes node name: a DNS-1123 subdomain (lower-case alphanumerics, '-' and '.'). */
export function isNodeName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && NODE_NAME.test(value);
}

/** A DNS host name. An all-numeric last label is refused so a mistyped IP ("10.0.0.256") is not taken as a name. */
export function isDnsName(value: string): boolean {
  const labels = value.split('.');
  return value.length <= 253 && labels.every((l) => DNS_LABEL.test(l)) && !/^\d+$/.test(labels.at(-1) ?? '');
}

/** An address sshd can be reached at: an IPv4 or IPv6 literal or a DNS name. */
export function isHost(value: unknown): value is string {
  return typeof value === 'string' && (isIp(value) || isDnsName(value));
}

/** Canonical text so equal addresses compare equal: compressed lower-case IPv6, lower-case names. */
export function normalizeHost(host: string): string {
  return normalizeIp(host) ?? host.toLowerCase();
}

/** "198.19.1.0/24" or "fd00:10:244:1::/64" in canonical form; undefined when it is not a CIDR. */
export function normalizeCidr(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^([^/]+)\/(\d{1,3})$/.exec(value);
  const ip = match?.[1] === undefined ? undefined : parseIp(match[1]);
  if (!match || !ip) return undefined;
  // parseIp turns IPv4-mapped IPv6 into IPv4, whose prefix length would then mean something else: refuse.
  if (ip.kind() === 'ipv4' && match[1]?.includes(':')) return undefined;
  const bits = Number(match[2]);
  return bits <= (ip.kind() === 'ipv4' ? 32 : 128) ? `${ip.toString()}/${bits}` : undefined;
}

export function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535;
}

/** Aliases without repeats and without the address itself. */
export function uniqueAliases(address: string, aliases: readonly string[]): string[] {
  return [...new Set(aliases.map(normalizeHost))].filter((a) => a !== address);
}

// ---- where and what: messages ------------------------------------------------------------------------------

/** A value as it appears in a message: strings and numbers quoted as JSON, containers by kind. */
export function show(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** ["podCIDRs", 0] -> "podCIDRs[0]"; keys that are not plain words are quoted: labels["kubernetes.io/os"]. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments
    .map((s, i) => {
      if (typeof s === 'number') return `[${s}]`;
      const key = String(s);
      if (!/^[A-Za-z_][\w-]*$/.test(key)) return `[${JSON.stringify(key)}]`;
      return `${i === 0 ? '' : '.'}${key}`;
    })
    .join('');
}

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

const EXPECTED: Record<string, string> = { array: 'a list', object: 'a mapping', record: 'a mapping' };

/** The problem a zod issue describes, in our words; `field` gains the offending key for unknown fields. */
export function describeIssue(issue: z.core.$ZodIssue): { field: PropertyKey[]; problem: string } {
  const input = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return { field: [...issue.path, issue.keys[0] ?? ''], problem: 'unknown field' };
    case 'invalid_type':
      if (input === undefined) return { field: issue.path, problem: 'required field is missing' };
      return { field: issue.path, problem: `expected ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}, got ${show(input)}` };
    default:
      return { field: issue.path, problem: issue.message };
  }
}

// ---- the schema ----------------------------------------------------------------------------------------------

/** A zod check with our message: 'is required' when absent, else '<value> is not <what>'. */
export function rule<T>(test: (value: unknown) => boolean, what: string) {
  return z.custom<T>(test, {
    error: (iss) => (iss.input === undefined ? 'required field is missing' : `${show(iss.input)} is not ${what}`),
  });
}

export const nodeNameRule = rule<string>(isNodeName, "a valid node name (lower-case letters, digits, '-' and '.')");
export const hostRule = rule<string>(isHost, 'an IP address or DNS name');
export const cidrRule = rule<string>((v) => normalizeCidr(v) !== undefined, 'a CIDR');
const portRule = rule<number>(isPort, 'a port number (1..65535)');
const fingerprintRule = rule<string>(
  (v) => typeof v === 'string' && FINGERPRINT.test(v),
  'a host key fingerprint ("SHA256:" and 43 base64 characters, as ssh-keygen -lf prints)',
);
export const labelsRule = z.record(z.string(), z.string());

const nodeEntryShape = {
  name: nodeNameRule,
  address: hostRule,
  aliases: z.array(hostRule).optional(),
  sshPort: portRule.optional(),
  kubeletPort: portRule.optional(),
  podCIDRs: z.array(cidrRule).optional(),
  hostKeyFingerprints: z.array(fingerprintRule).optional(),
  labels: labelsRule.optional(),
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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
