import { HEALTH_CHECK_DEFAULTS } from '../tunnel/health-check-options.js';
import type { EgressConfig } from './config-types.js';

/**
 * What to warn about once at startup when the kubelet health probes run without a CA: they then accept any
 * certificate a kubelet (or anything answering on its port) presents. Undefined when there is nothing to say.
 */
export function unverifiedKubeletWarning(config: EgressConfig): string | undefined {
  const kind = config.healthCheck.kind ?? HEALTH_CHECK_DEFAULTS.kind;
  if (kind !== 'kubelet-https' || config.healthCheck.caFile !== undefined) return undefined;
  return 'kubelet health probes are unverified: any kubelet certificate is accepted (give --kubelet-ca <file>, or healthCheck.caFile in the config)';
}
