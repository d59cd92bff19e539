import { PolicyDeniedError } from '../errors.js';
import { ipNumber } from '../net/address.js';
import type { Cidr } from '../net/cidr.js';
import { parseOptions } from '../options/parse-options.js';
import { defined } from '../util/defined.js';
import { compilePolicy, policyOptionsSchema, type CompiledPolicy, type DestinationPolicyOptions } from './policy-options.js';
import type { Route } from './router.js';
import type { RoutingTable } from './routing-table.js';

/**
 * The second gate of every dial, after routing. Routing already refuses what is not the cluster or an
 * allowed range (NoRouteError); this refuses what it found but may not reach: a node port outside
 * `nodePorts`, or an allowed range on a port its rules do not list. Pods and services are not
 * restricted by port: they are the cluster's own workloads, and their ports change with every deploy.
 */
export class DestinationPolicy {
  /** Every allowed range, whatever its ports: the router routes them, the check below filters ports. */
  readonly allowedCIDRs: readonly Cidr[];

  private constructor(private readonly compiled: CompiledPolicy) {
    this.allowedCIDRs = compiled.allow.map((rule) => rule.cidr);
  }

  /** Validates the options; throws ConfigError naming the offending field. */
  static fromOptions(policy: DestinationPolicyOptions | undefined, allowedCIDRs?: readonly string[]): DestinationPolicy {
    const valid = parseOptions(policyOptionsSchema, defined({ policy, allowedCIDRs }));
    return DestinationPolicy.fromValidOptions(valid.policy, valid.allowedCIDRs);
  }

  /** For options a schema that composes policyOptionsSchema (the Dialer's) has already accepted. */
  static fromValidOptions(policy: DestinationPolicyOptions | undefined, allowedCIDRs?: readonly string[]): DestinationPolicy {
    return new DestinationPolicy(compilePolicy(policy, allowedCIDRs));
  }

  /** Throws PolicyDeniedError unless the policy lets `route` be dialled; `target` is the caller's text. */
  check(route: Route, target: string, table: RoutingTable): void {
    const reason = this.denial(route, table);
    if (reason !== undefined) {
      throw new PolicyDeniedError(target, reason, route.via === 'node' ? { node: route.node } : {});
    }
  }

  /** Why the route is refused, or undefined when it is allowed. */
  private denial(route: Route, table: RoutingTable): string | undefined {
    switch (route.reason) {
      case 'kubelet':
      case 'pod':
      case 'service':
        return undefined;
      case 'node':
        return route.via === 'node' ? this.nodePortDenial(route.node, route.port, table) : undefined;
      case 'allowed':
        return this.allowedPortDenial(route.host, route.port);
    }
  }

  private nodePortDenial(nodeName: string, port: number, table: RoutingTable): string | undefined {
    const allowed = this.compiled.nodePorts;
    if (allowed === undefined || allowed.has(port)) return undefined;
    const kubeletPort = table.byName.get(nodeName.toLowerCase())?.kubeletPort;
    if (port === kubeletPort) return undefined;
    const kubelet = kubeletPort !== undefined && !allowed.has(kubeletPort) ? [`${kubeletPort} (kubelet)`] : [];
    const list = [allowed.text, ...kubelet].filter((text) => text !== '').join(', ');
    return `node ports allowed are ${list}`;
  }

  private allowedPortDenial(host: string, port: number): string | undefined {
    // Parsed once, not per rule.
    const ip = ipNumber(host);
    const covering = ip === undefined ? [] : this.compiled.allow.filter((rule) => rule.cidr.includes(ip));
    if (covering.some((rule) => rule.ports === undefined || rule.ports.has(port))) return undefined;
    const list = covering.map((rule) => `${rule.ports?.text ?? 'any'} (${rule.cidr.text})`).join('; ');
    return `port ${port} is not allowed for ${host}; allowed ports are ${list}`;
  }
}
