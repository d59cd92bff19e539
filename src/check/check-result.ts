/**
 * What `check` reports per node: the JSON shape of `ssh-egress check --output json`, also rendered as the
 * table. Steps run in order and the first failure skips the rest, so an operator reads off where it broke.
 */

export const CHECK_STEPS = ['tcp', 'handshake', 'auth', 'channel', 'kubelet'] as const;
export type CheckStepName = (typeof CHECK_STEPS)[number];

/** For help texts and the wide table. */
export const STEP_DESCRIPTIONS: Readonly<Record<CheckStepName, string>> = {
  tcp: 'TCP connect to the SSH port',
  handshake: 'SSH handshake, host key verified',
  auth: 'authentication',
  channel: 'channel to the kubelet port',
  kubelet: 'kubelet /healthz over TLS',
};

export interface StepError {
  /** An EgressError code (ERR_CONNECT, ERR_HOST_KEY_MISMATCH, ERR_AUTH, ...) or ERR_KUBELET_STATUS. */
  code: string;
  /** Plain words, without the node's name (the row already says which node). */
  message: string;
}

export interface CheckStep {
  name: CheckStepName;
  ok: boolean;
  /** Not run: an earlier step failed, or the kubelet steps were turned off. */
  skipped: boolean;
  /** Null when skipped. */
  ms: number | null;
  error: StepError | null;
}

export interface KubeletCertificateSummary {
  subject: string;
  issuer: string;
  sans: string[];
  notAfter: string;
  daysToExpiry: number;
}

export interface KubeletCheck {
  /** HTTP status of GET /healthz; null when the TLS handshake was refused. */
  status: number | null;
  /** True when the certificate was checked against a configured CA (and passed). */
  verified: boolean;
  certificate: KubeletCertificateSummary | null;
}

export interface NodeCheckResult {
  name: string;
  address: string;
  sshPort: number;
  /** Every step that ran passed (skipped kubelet steps under --no-kubelet count as passed). */
  ok: boolean;
  /** Wall time of the whole check of this node. */
  ms: number;
  steps: CheckStep[];
  /** The host key the node presented: verified when the handshake passed, the refused one on a mismatch. */
  hostKeyFingerprint: string | null;
  kubelet: KubeletCheck | null;
}

/** The failed step of a result, if any. */
export function failedStep(result: NodeCheckResult): CheckStep | undefined {
  return result.steps.find((s) => !s.ok && !s.skipped);
}
