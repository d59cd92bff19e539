/** Destination policy options: the documented types, their schema (the config file's policy: is this), and compiling them. */
import { z } from 'zod';
import { cidrRule, notCidr } from '../options/option-rules.js';
import { parseCidr, type Cidr } from '../net/cidr.js';
import { parsePortRange } from '../net/port-range.js';
import type { ShapeOf } from '../util/shape-of.js';
import { show } from '../util/show-value.js';
import { rule } from '../util/zod-rule.js';
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

const portSpecRule = rule<PortSpec>((v) => parsePortRange(v) !== undefined, 'a port or port range');

/** "10.0.0.0/8", "10.0.0.0/8:443,8000-8100", "fd00::/64:443" or "[fd00::/64]:443", split into its parts. */
function splitRuleText(text: string): { cidr: string; ports: string[] | undefined } {
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(text);
  // The prefix length ends the CIDR, so a colon after it starts the ports even for IPv6.
  const plain = /^(.*\/\d{1,3})(?::(.*))?$/.exec(text);
  const ports = bracketed ? bracketed[2] : plain?.[2];
  return { cidr: bracketed?.[1] ?? plain?.[1] ?? text, ports: ports?.split(',') };
}

/** An allow rule in its string form (also the form of the older `allowedCIDRs` list). */
export const allowRuleText = z.string().superRefine((text, ctx) => {
  const { cidr, ports } = splitRuleText(text);
  if (!parseCidr(cidr)) return ctx.addIssue({ code: 'custom', message: `${show(cidr)} is not ${notCidr(cidr)}` });
  const bad = ports?.find((spec) => !parsePortRange(spec));
  if (bad !== undefined) ctx.addIssue({ code: 'custom', message: `${show(text)} has ${show(bad)}, which is not a port or port range` });
});

const allowedDestination = z.strictObject({
  cidr: cidrRule,
  // An empty list would allow nothing, which nobody means; omitting it allows every port.
  ports: z.array(portSpecRule).min(1, { error: 'must be a non-empty list of ports or ranges (omit it for every port)' }).optional(),
} satisfies ShapeOf<AllowedDestination>);

const allowRule = z.union([allowRuleText, allowedDestination], {
  error: (iss) => `expected "cidr", "cidr:ports" or { cidr, ports }, got ${show(iss.input)}`,
});

/** A typo must fail loudly rather than widen or narrow what is reachable: every object is strict. */
export const destinationPolicySchema = z.strictObject({
  allow: z.array(allowRule).optional(),
  nodePorts: z.array(portSpecRule).optional(),
} satisfies ShapeOf<DestinationPolicyOptions>);

/** The policy's part of the Dialer's options, on its own for DestinationPolicy.fromOptions. */
export const policyOptionsSchema = z.strictObject({
  /** The older flat list of allowed ranges; the same syntax as `policy.allow` strings. */
  allowedCIDRs: z.array(allowRuleText).optional(),
  policy: destinationPolicySchema.optional(),
});

/**
 * Builds the policy from options the schema accepted (the Dialer's, or DestinationPolicy.fromOptions).
 * `allowedCIDRs` is the older flat list and joins `policy.allow`.
 */
export function compilePolicy(policy: DestinationPolicyOptions = {}, allowedCIDRs: readonly string[] = []): CompiledPolicy {
  const allow = [...allowedCIDRs, ...(policy.allow ?? [])].map(compileRule);
  return { allow, nodePorts: policy.nodePorts && portSet(policy.nodePorts) };
}

function compileRule(rule: AllowRule): CompiledAllowRule {
  const { cidr, ports } = typeof rule === 'string' ? splitRuleText(rule) : rule;
  // The schema accepted the rule, so its CIDR parses.
  return { cidr: parseCidr(cidr)!, ports: ports && portSet(ports) };
}
