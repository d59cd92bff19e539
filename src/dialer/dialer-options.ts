/** The Dialer's options: the documented type, its schema, defaults, and the settings compiled from them. */
import { z } from 'zod';
import { cidrRule, durationMsRule, objectRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import type { Logger } from '../log.js';
import { parseCidr } from '../net/cidr.js';
import type { ShapeOf } from '../util/shape-of.js';
import { DestinationPolicy } from './policy.js';
import { policyOptionsSchema, type DestinationPolicyOptions } from './policy-options.js';
import type { RoutingRules } from './router.js';

export interface DialerOptions {
  /** Service ClusterIP ranges; a destination inside one goes through any READY tunnel. */
  serviceCIDRs?: string[];
  /**
   * Further ranges any tunnel may reach, on every port ("192.0.2.0/24"). Everything not a node, pod,
   * service or allowed here or in `policy.allow` is refused. The same syntax as `policy.allow` strings.
   */
  allowedCIDRs?: string[];
  /** Allowed ranges with ports, and the node ports that may be dialled. Checked before any tunnel is used. */
  policy?: DestinationPolicyOptions;
  /** Default budget for a dial: waiting for the tunnel plus opening the channel. Default 10000. */
  dialTimeoutMs?: number;
  logger?: Logger;
}

export const DIALER_DEFAULTS = { dialTimeoutMs: 10_000 } as const;

export const dialerOptionsSchema = z.strictObject({
  serviceCIDRs: z.array(cidrRule).optional(),
  ...policyOptionsSchema.shape,
  dialTimeoutMs: durationMsRule.optional(),
  logger: objectRule<Logger>('a logger').optional(),
} satisfies ShapeOf<DialerOptions>);

/** What a dial needs from the options, built once (construction, reconfigure), never per dial. */
export interface DialerSettings {
  rules: RoutingRules;
  policy: DestinationPolicy;
  dialTimeoutMs: number;
}

/** Checks the options (ConfigError naming the field) and compiles them. */
export function compileSettings(options: DialerOptions): DialerSettings {
  const valid = parseOptions(dialerOptionsSchema, options);
  const policy = DestinationPolicy.fromValidOptions(valid.policy, valid.allowedCIDRs);
  // The schema accepted every CIDR, so each parses.
  const serviceCIDRs = (valid.serviceCIDRs ?? []).map((text) => parseCidr(text)!);
  return {
    rules: { serviceCIDRs, allowedCIDRs: policy.allowedCIDRs },
    policy,
    dialTimeoutMs: valid.dialTimeoutMs ?? DIALER_DEFAULTS.dialTimeoutMs,
  };
}
