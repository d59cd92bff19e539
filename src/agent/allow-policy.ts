/** What the daemon may reach through this node: checked by the agent, on the node, before every connect. */
import { networkInterfaces } from 'node:os';
import { ipNumber, normalizeIp } from '../net/address.js';
import { parseCidr } from '../net/cidr.js';
import { compilePolicy, type CompiledAllowRule } from '../dialer/policy-options.js';

export interface AllowPolicyOptions {
  /** Replaces the default entirely: "cidr" or "cidr:ports", as the dialer's policy.allow strings. */
  allow?: readonly string[] | undefined;
  podCIDRs?: readonly string[] | undefined;
  serviceCIDRs?: readonly string[] | undefined;
}

export interface AllowPolicy {
  /** Why `address:port` is refused, or undefined when it is allowed. `address` is an IP literal. */
  denial(address: string, port: number): string | undefined;
  /** One line for the start-up log. */
  readonly description: string;
}

/**
 * The node's own addresses, read at each check so a changed address counts at once. Loopback is left out:
 * what binds there (etcd, kubelet's healthz, local admin ports) is meant for the node alone, and the daemon
 * addresses a node by its InternalIP anyway. `--allow 127.0.0.1/32` opens it deliberately.
 */
export function ownAddresses(): string[] {
  const found = Object.values(networkInterfaces()).flatMap((entries) => entries ?? []);
  return found.filter((entry) => !entry.internal).flatMap((entry) => normalizeIp(entry.address) ?? []);
}

/** Options the schema accepted (every CIDR and rule parses). */
export function createAllowPolicy(options: AllowPolicyOptions, nodeAddresses: () => string[] = ownAddresses): AllowPolicy {
  if (options.allow !== undefined) {
    const rules = compilePolicy({ allow: [...options.allow] }).allow;
    return {
      denial: (address, port) => ruleDenial(rules, address, port, 'the --allow rules'),
      description: `allow: ${rules.map(describeRule).join('; ')}`,
    };
  }
  const ranges: CompiledAllowRule[] = [...(options.podCIDRs ?? []), ...(options.serviceCIDRs ?? [])].map((text) => ({
    cidr: parseCidr(text)!,
    ports: undefined,
  }));
  return {
    denial(address, port) {
      const canonical = normalizeIp(address);
      if (canonical !== undefined && nodeAddresses().includes(canonical)) return undefined;
      return ruleDenial(ranges, address, port, "this node's addresses, --pod-cidr and --service-cidr");
    },
    description: `this node's addresses (${nodeAddresses().join(', ') || 'none found'})${ranges.length > 0 ? `, ${ranges.map(describeRule).join(', ')}` : ''}`,
  };
}

function ruleDenial(rules: readonly CompiledAllowRule[], address: string, port: number, what: string): string | undefined {
  const ip = ipNumber(address);
  const covering = ip === undefined ? [] : rules.filter((rule) => rule.cidr.includes(ip));
  if (covering.some((rule) => rule.ports === undefined || rule.ports.has(port))) return undefined;
  if (covering.length === 0) return `${address} is outside ${what}`;
  return `port ${port} is not allowed for ${address} (allowed: ${covering.map(describeRule).join('; ')})`;
}

function describeRule(rule: CompiledAllowRule): string {
  return rule.ports === undefined ? rule.cidr.text : `${rule.cidr.text} ports ${rule.ports.text}`;
}
