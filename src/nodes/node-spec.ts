/** One node of the cluster, as the pool and dialer see it. */
export interface NodeSpec {
  /** The node's name (Kubernetes `metadata.name`); unique in an inventory. */
  name: string;
  /** Where its sshd listens and where its kubelet and node ports are dialled (IP or DNS name). */
  address: string;
  /** Other names and addresses that identify this node (hostname, InternalDNS, other IPs). */
  aliases: string[];
  /** sshd port; 22 unless set. */
  sshPort: number;
  /** kubelet port; 10250 unless set. */
  kubeletPort: number;
  /** The pod CIDRs this node owns (IPv4 and/or IPv6). */
  podCIDRs: string[];
  /** Pinned host-key fingerprints ("SHA256:..."); when present they are trusted in addition to known_hosts. */
  hostKeyFingerprints: string[];
  labels: Record<string, string>;
}

export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_KUBELET_PORT = 10250;

/** Two specs describe the same tunnel when everything that affects the SSH connection is equal. */
export function sameConnection(a: NodeSpec, b: NodeSpec): boolean {
  return (
    a.name === b.name &&
    a.address === b.address &&
    a.sshPort === b.sshPort &&
    a.hostKeyFingerprints.length === b.hostKeyFingerprints.length &&
    a.hostKeyFingerprints.every((fp, i) => fp === b.hostKeyFingerprints[i])
  );
}
