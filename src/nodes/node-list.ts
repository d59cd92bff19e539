/**
 * Nodes from Kubernetes: a NodeList (or kubectl's `kind: List`) as printed by `kubectl get nodes -o json`, or one
 * Node. Only the fields we use are checked; everything else a Node carries is ignored.
 */
import { z } from 'zod';
import { InventoryError } from '../errors.js';
import { normalizeCidr } from '../net/cidr.js';
import { isPortOrZero } from '../net/port.js';
import { isRecord } from '../util/is-record.js';
import { show } from '../util/show-value.js';
import { describeIssue } from '../util/zod-issues.js';
import { rule } from '../util/zod-rule.js';
import { cidrRule } from '../options/option-rules.js';
import { assertUniqueNodes, isHost, labelsRule, nodeFieldPath, nodeNameRule, normalizeHost, uniqueAliases } from './inventory-schema.js';
import { DEFAULT_KUBELET_PORT, DEFAULT_SSH_PORT, type NodeSpec } from './node-spec.js';

/** kubeadm's `--kubelet-preferred-address-types`: an IP sshd listens on beats a name that needs DNS. */
export const DEFAULT_ADDRESS_TYPES: readonly string[] = Object.freeze(['InternalIP', 'ExternalIP', 'Hostname']);

export interface NodeListOptions {
  /** status.addresses types to use as the node's address, most preferred first. */
  addressTypes?: readonly string[];
  /** Names the input in error messages (a file name, "Kubernetes API"). */
  source?: string;
  /** sshd port of every node (a Node object has no field for it); default 22. */
  sshPort?: number;
  /**
   * When given, a node that cannot be used (no usable address, a bad field, a duplicate address) is left
   * out and reported here instead of failing the whole list: one broken Node must not cost every tunnel.
   */
  onSkip?: (problem: InventoryError) => void;
}

export interface K8sNodeOptions extends NodeListOptions {
  /** Where the node sits in its document, e.g. "items[2]"; '' for a lone Node. */
  at?: string;
}

// The kubelet reports Port 0 when it has not filled the endpoint in yet: that means "the default".
const kubeletPortRule = rule<number>(isPortOrZero, 'a port number (0..65535)');

const k8sNodeSchema = z.looseObject({
  metadata: z.looseObject({ name: nodeNameRule, labels: labelsRule.nullish() }),
  spec: z.looseObject({ podCIDR: cidrRule.nullish(), podCIDRs: z.array(cidrRule).nullish() }).nullish(),
  status: z
    .looseObject({
      addresses: z.array(z.looseObject({ type: z.string(), address: z.string() })).nullish(),
      daemonEndpoints: z
        .looseObject({ kubeletEndpoint: z.looseObject({ Port: kubeletPortRule.nullish() }).nullish() })
        .nullish(),
    })
    .nullish(),
});

/** One Kubernetes Node as a NodeSpec; throws InventoryError naming the node and field when it cannot be used. */
export function nodeFromK8sNode(node: unknown, options: K8sNodeOptions = {}): NodeSpec {
  const source = options.source ?? 'NodeList';
  const at = options.at ?? '';
  const preference = addressPreference(options.addressTypes, source);
  const rawName = isRecord(node) && isRecord(node.metadata) ? node.metadata.name : undefined;
  const name = typeof rawName === 'string' && rawName ? rawName : undefined;
  const fail = (field: PropertyKey[], problem: string, label = name): never => {
    throw new InventoryError(source, nodeFieldPath(at, label, field), problem, { node: label });
  };

  if (!isRecord(node)) return fail([], `expected a Node object, got ${show(node)}`);
  if (node.kind !== undefined && node.kind !== 'Node') return fail(['kind'], `${show(node.kind)} is not a Node`);
  const result = k8sNodeSchema.safeParse(node, { reportInput: true });
  if (!result.success) {
    const issue = result.error.issues[0];
    const { field, problem } = issue ? describeIssue(issue) : { field: [], problem: 'invalid Node' };
    // On the name field itself the name is what is wrong, so it does not label the node.
    return fail(field, problem, field[0] === 'metadata' && field[1] === 'name' ? undefined : name);
  }
  const { metadata, spec, status } = result.data;

  const usable = (status?.addresses ?? []).filter((a) => isHost(a.address));
  const chosen = preference.map((type) => usable.find((a) => a.type === type)).find((a) => a !== undefined);
  if (!chosen) {
    const found = [...new Set((status?.addresses ?? []).map((a) => a.type))];
    const has = found.length ? ` (it has ${found.join(', ')})` : '';
    return fail(['status', 'addresses'], `no address of type ${joinOr(preference)}${has}`);
  }
  const address = normalizeHost(chosen.address);
  const cidrs = spec?.podCIDRs?.length ? spec.podCIDRs : spec?.podCIDR ? [spec.podCIDR] : [];
  const port = status?.daemonEndpoints?.kubeletEndpoint?.Port;

  return {
    name: metadata.name,
    address,
    aliases: uniqueAliases(address, usable.map((a) => a.address)),
    sshPort: options.sshPort ?? DEFAULT_SSH_PORT,
    kubeletPort: port ? port : DEFAULT_KUBELET_PORT,
    podCIDRs: [...new Set(cidrs.map((c) => normalizeCidr(c) ?? c))],
    hostKeyFingerprints: [],
    labels: metadata.labels ?? {},
  };
}

/**
 * Every node of a NodeList (or a lone Node) as NodeSpecs; refuses duplicate names and addresses, or with
 * `onSkip` leaves such nodes (and unusable ones) out and reports them.
 */
export function nodesFromNodeList(list: unknown, options: NodeListOptions = {}): NodeSpec[] {
  const source = options.source ?? 'NodeList';
  if (isRecord(list) && list.kind === 'Node') return [nodeFromK8sNode(list, { ...options, at: '' })];
  if (!isRecord(list)) throw new InventoryError(source, '', `expected a Kubernetes NodeList or Node, got ${show(list)}`);
  if (!Array.isArray(list.items)) {
    throw new InventoryError(source, 'items', `expected a list of Node objects, got ${show(list.items)}`);
  }
  const { onSkip } = options;
  if (onSkip) {
    // An empty preference is a configuration mistake, not one bad node: it still throws.
    addressPreference(options.addressTypes, source);
    const usable = list.items.flatMap((item: unknown, i) => {
      try {
        return [nodeFromK8sNode(item, { ...options, at: `items[${i}]` })];
      } catch (err) {
        if (!(err instanceof InventoryError)) throw err;
        onSkip(err);
        return [];
      }
    });
    return withoutDuplicates(usable, source, onSkip);
  }
  const nodes = list.items.map((item: unknown, i) => nodeFromK8sNode(item, { ...options, at: `items[${i}]` }));
  assertUniqueNodes(nodes, source, {
    collection: 'items',
    nameField: ['metadata', 'name'],
    addressField: ['status', 'addresses'],
  });
  return nodes;
}

/**
 * Keeps the first node of each name and each address, reporting the others: two nodes claiming one address
 * would make routing ambiguous, so the later one waits until the conflict is gone.
 */
export function withoutDuplicates(nodes: readonly NodeSpec[], source: string, onSkip: (problem: InventoryError) => void): NodeSpec[] {
  const names = new Set<string>();
  const addresses = new Map<string, string>();
  return nodes.filter((node) => {
    const label = `node ${JSON.stringify(node.name)}`;
    if (names.has(node.name)) {
      onSkip(new InventoryError(source, label, 'duplicate node name', { node: node.name }));
      return false;
    }
    const owner = addresses.get(node.address);
    if (owner !== undefined) {
      const problem = `duplicate address ${JSON.stringify(node.address)} (also node ${JSON.stringify(owner)})`;
      onSkip(new InventoryError(source, `${label}: status.addresses`, problem, { node: node.name }));
      return false;
    }
    names.add(node.name);
    addresses.set(node.address, node.name);
    return true;
  });
}

function addressPreference(types: readonly string[] | undefined, source: string): readonly string[] {
  if (types === undefined) return DEFAULT_ADDRESS_TYPES;
  if (types.length === 0) throw new InventoryError(source, '', 'addressTypes is empty: name at least one address type, e.g. InternalIP');
  return types;
}

/** ["A", "B", "C"] -> "A, B or C". */
function joinOr(words: readonly string[]): string {
  return words.length <= 1 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;
}
