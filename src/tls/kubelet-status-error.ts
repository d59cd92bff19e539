/** A kubelet status other than 200: the TLS side worked, the kubelet says it is not healthy (or not ours to ask). */
export class KubeletStatusError extends Error {
  readonly code = 'ERR_KUBELET_STATUS';
}
