import { NoRouteError } from '../errors.js';
import type { ParsedTarget } from './target.js';
import { nodeForHost, type RoutingTable } from './routing-table.js';
import { ipNumber, type IpNumber } from '../net/address.js';
import type { Cidr } from '../net/cidr.js';

/** Why a route was chosen; also the `route` label of the dial metrics. */
export type RouteReason = 'kubelet' | 'node' | 'pod' | 'service' | 'allowed';

/** Where a stream goes: the host and port dialled on the far side, and which tunnel may carry it. */
export type Route =
  | { via: 'node'; node: string; host: string; port: number; reason: RouteReason }
  | { via: 'any'; host: string; port: number; reason: RouteReason };

export interface RoutingRules {
  serviceCIDRs: readonly Cidr[];
  /** Extra ranges any tunnel may reach; nothing outside the cluster is reachable otherwise. */
  allowedCIDRs: readonly Cidr[];
}

type AddressTarget = Extract<ParsedTarget, { kind: 'address' }>;
/** `ip` is the target's address as a number, parsed once for every strategy; undefined for a name. */
type Strategy = (target: AddressTarget, table: RoutingTable, rules: RoutingRules, ip: IpNumber | undefined) => Route | undefined;

/** A node's own address, name or alias: its own tunnel, dialling the node's primary address. */
const nodeAddress: Strategy = (target, table) => {
  const node = nodeForHost(table, target.host);
  if (!node) return undefined;
  // A name is resolved here, never by the node's resolver; an IP alias is dialled as given.
  const host = target.ip ? target.host : node.address;
  // kube-apiserver dials kubelets as address:port, so the port tells a kubelet dial from other node traffic.
  const reason = target.port === node.kubeletPort ? 'kubelet' : 'node';
  return { via: 'node', node: node.name, host, port: target.port, reason };
};

/** A pod IP: the tunnel of the node whose pod CIDR holds it. */
const podIp: Strategy = (target, table, _rules, ip) => {
  if (ip === undefined) return undefined;
  const owner = table.podCIDRs.find((entry) => entry.cidr.includes(ip));
  return owner && { via: 'node', node: owner.node.name, host: target.host, port: target.port, reason: 'pod' };
};

/** A ClusterIP: any node's kube-proxy can reach it. */
const serviceIp: Strategy = (target, _table, rules, ip) =>
  ip !== undefined && rules.serviceCIDRs.some((cidr) => cidr.includes(ip))
    ? { via: 'any', host: target.host, port: target.port, reason: 'service' }
    : undefined;

const allowed: Strategy = (target, _table, rules, ip) =>
  ip !== undefined && rules.allowedCIDRs.some((cidr) => cidr.includes(ip))
    ? { via: 'any', host: target.host, port: target.port, reason: 'allowed' }
    : undefined;

/** Tried in order; the first that claims the target routes it. */
const STRATEGIES: readonly Strategy[] = [nodeAddress, podIp, serviceIp, allowed];

export function route(target: ParsedTarget, table: RoutingTable, rules: RoutingRules): Route {
  if (target.kind === 'kubelet' || target.kind === 'node') {
    const node = table.byName.get(target.node.toLowerCase());
    if (!node) throw new NoRouteError(target.text, `no node named "${target.node}" in the inventory`);
    const port = target.kind === 'kubelet' ? node.kubeletPort : target.port;
    return { via: 'node', node: node.name, host: node.address, port, reason: target.kind };
  }
  const ip = target.ip ? ipNumber(target.host) : undefined;
  for (const strategy of STRATEGIES) {
    const found = strategy(target, table, rules, ip);
    if (found) return found;
  }
  throw new NoRouteError(
    target.text,
    target.ip
      ? `${target.host} is not a node address, in no node's pod CIDR, in no service CIDR and in no allowed range`
      : `"${target.host}" is not a node name or address (names resolve only to nodes, never through DNS)`,
  );
}
