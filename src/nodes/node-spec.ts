import type { TunnelMode } from './tunnel-mode.js';

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
  /**
   * OpenSSH public key lines the node's agent may authenticate with (reverse tunnels). Absent: none, so the
   * agent needs a certificate from a trusted CA.
   */
  agentKeys?: string[];
  /** Which way this node's tunnel goes; absent: the inventory's default (the pool's `tunnel`). */
  tunnel?: TunnelMode;
}

export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_KUBELET_PORT = 10250;

/**
 * Two specs describe the same tunnel when everything that affects the SSH connection is equal. Agent keys
 * are not part of it: they are read at each agent's authentication, so a change needs no new tunnel.
 */
export function sameConnection(a: NodeSpec, b: NodeSpec): boolean {
  return (
    a.name === b.name &&
    a.address === b.address &&
    a.sshPort === b.sshPort &&
    a.tunnel === b.tunnel &&
    a.hostKeyFingerprints.length === b.hostKeyFingerprints.length &&
    a.hostKeyFingerprints.every((fp, i) => fp === b.hostKeyFingerprints[i])
  );
}
