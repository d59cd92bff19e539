import { EgressError, type EgressErrorDetails } from '../errors.js';
import type { CertificateInfo } from './certificate-info.js';
import type { KubeletTlsProblem } from './verify-kubelet.js';

/**
 * A kubelet's TLS certificate was refused (untrusted, wrong names, expired), or the kubelet refused ours.
 * `problem` is a stable label for metrics; `certificate` describes what the kubelet presented, when known.
 * It lives beside the TLS feature, not in errors.ts, so the base error module imports no feature.
 */
export class KubeletCertificateError extends EgressError {
  readonly problem: KubeletTlsProblem;
  readonly certificate: CertificateInfo | undefined;
  constructor(node: string, problem: KubeletTlsProblem, reason: string, details: EgressErrorDetails & { certificate?: CertificateInfo } = {}) {
    super('ERR_KUBELET_CERT', `node ${node}: ${reason}`, { ...details, node });
    this.problem = problem;
    this.certificate = details.certificate;
  }
}
