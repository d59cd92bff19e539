import { ConfigError } from '../errors.js';
import { isIp } from '../net/address.js';
import { parseCidr, type Cidr } from '../net/cidr.js';
import { portSet, type PortSet, type PortSpec } from './policy-ports.js';

/** A range outside the cluster that dials may reach, on every port or only on the ports listed. */
export interface AllowedDestination {
  cidr: string;
  /** Ports and ranges, e.g. [443, '8000-8100']. Omitted: every port. */
  ports?: PortSpec[];
}

/** `{ cidr, ports }`, or the string form "10.0.0.0/8" (every port) / "10.0.0.0/8:443,8000-8100". */
export type AllowRule = string | AllowedDestination;

/**
 * What the dialer may reach besides the cluster itself (node addresses and names, pod CIDRs, service
 * CIDRs), and which ports of the nodes.
 */
export interface DestinationPolicyOptions {
  /** Extra destinations; an address in none of them, and in no node, pod or service range, is refused. */
  allow?: AllowRule[];
  /**
   * When given, node targets (kubelet, node port, a node's address or name) on any other port are
   * refused, e.g. [9100, '30000-32767']. Each node's kubelet port is always allowed. Omitted: every port.
   */
  nodePorts?: PortSpec[];
}

export interface CompiledAllowRule {
  cidr: Cidr;
  /** Undefined: every port. */
  ports: PortSet | undefined;
}

export interface CompiledPolicy {
  allow: CompiledAllowRule[];
  nodePorts: PortSet | undefined;
}

const POLICY_FIELDS = ['allow', 'nodePorts'];
const RULE_FIELDS = ['cidr', 'ports'];

/**
 * Checks the options once, at Dialer construction, so a typo fails loudly instead of widening or
 * narrowing what is reachable. `allowedCIDRs` is the older flat list and joins `policy.allow`.
 */
export function compilePolicy(policy: DestinationPolicyOptions | undefined, allowedCIDRs: readonly string[] | undefined): CompiledPolicy {
  if (policy !== undefined && (policy === null || typeof policy !== 'object' || Array.isArray(policy))) {
    throw new ConfigError('policy', 'must be an object with allow and/or nodePorts');
  }
  rejectUnknownFields(policy ?? {}, POLICY_FIELDS, 'policy');
  const allow = [
    ...list(allowedCIDRs, 'allowedCIDRs').map((rule, i) => compileRule(rule, `allowedCIDRs[${i}]`)),
    ...list(policy?.allow, 'policy.allow').map((rule, i) => compileRule(rule, `policy.allow[${i}]`)),
  ];
  const nodePorts = policy?.nodePorts === undefined ? undefined : ports(list(policy.nodePorts, 'policy.nodePorts'), 'policy.nodePorts');
  return { allow, nodePorts };
}

function compileRule(rule: unknown, path: string): CompiledAllowRule {
  if (typeof rule === 'string') return compileRuleString(rule, path);
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) {
    throw new ConfigError(path, `expected "cidr", "cidr:ports" or { cidr, ports }, got ${JSON.stringify(rule)}`);
  }
  rejectUnknownFields(rule, RULE_FIELDS, path);
  const { cidr, ports: specs } = rule as { cidr?: unknown; ports?: unknown };
  if (typeof cidr !== 'string') throw new ConfigError(`${path}.cidr`, 'is required (e.g. "10.0.0.0/8")');
  if (specs !== undefined && (!Array.isArray(specs) || specs.length === 0)) {
    // An empty list would allow nothing, which nobody means; omitting it allows every port.
    throw new ConfigError(`${path}.ports`, 'must be a non-empty list of ports or ranges (omit it for every port)');
  }
  return { cidr: cidrOf(cidr, `${path}.cidr`), ports: specs === undefined ? undefined : ports(specs, `${path}.ports`) };
}

/** "10.0.0.0/8", "10.0.0.0/8:443,8000-8100", "fd00::/64:443" or "[fd00::/64]:443". */
function compileRuleString(text: string, path: string): CompiledAllowRule {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  // The prefix length ends the CIDR, so a colon after it starts the ports even for IPv6.
  const plain = /^(.*\/\d{1,3})(?::(.*))?$/.exec(text);
  const cidrText = bracketed?.[1] ?? plain?.[1] ?? text;
  const portsText = bracketed ? bracketed[2] : plain?.[2];
  const cidr = cidrOf(cidrText, path);
  if (portsText === undefined) return { cidr, ports: undefined };
  const specs = portsText.split(',');
  return {
    cidr,
    ports: portSet(specs, (_i, spec) => {
      throw new ConfigError(path, `"${text}" has ${JSON.stringify(spec)}, which is not a port or port range`);
    }),
  };
}

function cidrOf(text: string, path: string): Cidr {
  const cidr = parseCidr(text);
  if (cidr) return cidr;
  const hint = isIp(text) ? ` (write ${text}/${text.includes(':') ? 128 : 32} for one address)` : '';
  throw new ConfigError(path, `"${text}" is not a CIDR${hint}`);
}

function ports(specs: readonly unknown[], path: string): PortSet {
  return portSet(specs, (i, spec) => {
    throw new ConfigError(`${path}[${i}]`, `${JSON.stringify(spec)} is not a port or port range`);
  });
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new ConfigError(path, `must be a list, got ${JSON.stringify(value)}`);
  return value;
}

function rejectUnknownFields(value: object, known: readonly string[], path: string): void {
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(path, `unknown field ${unknown.map((k) => `"${k}"`).join(', ')} (expected ${known.join(', ')})`);
  }
}
