/** The pool's active health check: its options, their schema and defaults. */
import type { ConnectionOptions } from 'node:tls';
import { z } from 'zod';
import { countRule, durationMsRule, objectRule, portRule } from '../options/option-rules.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';
import { oneOf, rule } from '../util/zod-rule.js';

export const HEALTH_CHECK_KINDS = ['kubelet-https', 'tcp', 'ssh'] as const;

export interface HealthCheckOptions {
  /**
   * 'kubelet-https': GET https://<node>:<kubeletPort><path> through the tunnel must answer 200 (default);
   * 'tcp': a channel to <node>:<port> must open; 'ssh': keepalive only, no active probe.
   */
  kind?: (typeof HEALTH_CHECK_KINDS)[number];
  /** Port for 'tcp' (default: the node's kubelet port). */
  port?: number;
  /** Path for 'kubelet-https'. Default '/healthz'. */
  path?: string;
  /** Time between probes of one tunnel; each tunnel starts at a random offset. Default 30000. */
  intervalMs?: number;
  /** Default 5000. */
  timeoutMs?: number;
  /**
   * Consecutive failures that mark the node unhealthy (no new dials, connection kept, until a probe passes),
   * or reconnect the tunnel when its SSH path is what failed. Default 3.
   */
  failureThreshold?: number;
  /**
   * TLS for 'kubelet-https': `ca` verifies the kubelet's certificate (with the node's address or name
   * checked against its SANs); `cert`/`key` authenticate us. Without `ca` the certificate is not checked.
   */
  tls?: ConnectionOptions;
}

export const HEALTH_CHECK_DEFAULTS = {
  kind: 'kubelet-https',
  path: '/healthz',
  intervalMs: 30_000,
  timeoutMs: 5_000,
  failureThreshold: 3,
} as const;

/** The fields as a plain object, for the config file to compose (it gives TLS as files instead of `tls`). */
export const healthCheckObject = z.strictObject({
  kind: oneOf(HEALTH_CHECK_KINDS).optional(),
  port: portRule.optional(),
  path: rule<string>((v) => typeof v === 'string' && v.startsWith('/'), 'a URL path starting with "/"').optional(),
  intervalMs: durationMsRule.optional(),
  timeoutMs: durationMsRule.optional(),
  failureThreshold: countRule.optional(),
  tls: objectRule<ConnectionOptions>('TLS options (node:tls ConnectionOptions)').optional(),
} satisfies ShapeOf<HealthCheckOptions>);

export type ResolvedHealthCheck = Omit<HealthCheckOptions, keyof typeof HEALTH_CHECK_DEFAULTS> & {
  kind: NonNullable<HealthCheckOptions['kind']>;
  path: string;
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
};

/** Options already checked by the pool's schema, with the defaults filled. */
export function resolveHealthCheck(options: HealthCheckOptions = {}): ResolvedHealthCheck {
  return { ...HEALTH_CHECK_DEFAULTS, ...defined(options) };
}
