import {
  type EgressError,
  HostKeyMismatchError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  KnownHostsError,
} from '../errors.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { fingerprintOf, normalizeFingerprint } from './fingerprint.js';
import { hostPortName, type KnownHosts } from './known-hosts.js';

/**
 * Decides whether a node's host key is trusted. ssh2's `hostVerifier(key)` is not told which host it is
 * talking to, so there is one verifier per node, with that node's trust worked out up front.
 */

export interface HostKeyPolicy {
  knownHosts?: KnownHosts;
  /** Accept any host key. For labs only; the caller must warn loudly. */
  insecureIgnoreHostKeys?: boolean;
}

export type HostKeyVerdict = { ok: true; fingerprint: string } | { ok: false; error: EgressError };

interface NodeTrust {
  names: string[];
  /** Blobs from known_hosts: compared byte for byte, not by fingerprint. */
  knownBlobs: Buffer[];
  knownTypes: string[];
  pinned: Set<string>;
  revoked: Buffer[];
  certAuthorityLines: number[];
  /** Every trusted fingerprint, for the mismatch message. */
  expected: string[];
}

export function createHostKeyVerifier(node: NodeSpec, policy: HostKeyPolicy): (keyBlob: Buffer) => HostKeyVerdict {
  const trust = nodeTrust(node, policy.knownHosts);
  return (keyBlob) => {
    const fingerprint = fingerprintOf(keyBlob);
    if (policy.insecureIgnoreHostKeys) return { ok: true, fingerprint };
    // Revocation beats every other source of trust, as in OpenSSH.
    if (trust.revoked.some((blob) => blob.equals(keyBlob))) {
      return { ok: false, error: new HostKeyRevokedError(node.name, fingerprint) };
    }
    // Only a @cert-authority line vouches for this node: refusing beats pretending we checked a certificate.
    const firstCaLine = trust.certAuthorityLines[0];
    if (firstCaLine !== undefined && trust.expected.length === 0) {
      return {
        ok: false,
        error: new KnownHostsError(
          `@cert-authority in ${policy.knownHosts?.source}:${firstCaLine} cannot be honoured: ssh2 does not support ` +
            `OpenSSH host certificates; pin host keys instead (node ${node.name})`,
        ),
      };
    }
    if (trust.knownBlobs.some((blob) => blob.equals(keyBlob)) || trust.pinned.has(fingerprint)) {
      return { ok: true, fingerprint };
    }
    if (trust.expected.length > 0) {
      return { ok: false, error: new HostKeyMismatchError(node.name, trust.expected, fingerprint) };
    }
    return { ok: false, error: new HostKeyUnknownError(node.name, describeLookup(node, trust, policy), fingerprint) };
  };
}

/**
 * ssh2's default host key algorithms (ssh2 1.17 lib/protocol/constants.js), reordered so key types that
 * known_hosts trusts for this node come first, as OpenSSH does (order_hostkeyalgs). Without this a node
 * with several host keys may present one we have no line for, which reads as a mismatch. Undefined when
 * known_hosts has nothing for the node (keep ssh2's defaults). Pass as `algorithms.serverHostKey`.
 */
export function hostKeyAlgorithmsFor(node: NodeSpec, policy: HostKeyPolicy): string[] | undefined {
  const { knownTypes } = nodeTrust(node, policy.knownHosts);
  if (knownTypes.length === 0) return undefined;
  const preferred = knownTypes.flatMap((type) => (type === 'ssh-rsa' ? RSA_SIGNATURE_ALGORITHMS : [type]));
  const all = [...preferred, ...SSH2_DEFAULT_SERVER_HOST_KEY].filter((a) => SSH2_DEFAULT_SERVER_HOST_KEY.includes(a));
  return [...new Set(all)];
}

const RSA_SIGNATURE_ALGORITHMS = ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
const SSH2_DEFAULT_SERVER_HOST_KEY = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  ...RSA_SIGNATURE_ALGORITHMS,
];

/** The node is known by its address, name and aliases, all at its sshd port. */
function lookupNames(node: NodeSpec): string[] {
  const names = [node.address, node.name, ...node.aliases].map((n) => n.trim()).filter((n) => n !== '');
  return [...new Set(names.map((n) => n.toLowerCase()))];
}

function nodeTrust(node: NodeSpec, knownHosts: KnownHosts | undefined): NodeTrust {
  const names = lookupNames(node);
  const trust: NodeTrust = {
    names,
    knownBlobs: [],
    knownTypes: [],
    pinned: new Set(node.hostKeyFingerprints.map(normalizeFingerprint)),
    revoked: [],
    certAuthorityLines: [],
    expected: [],
  };
  for (const name of names) {
    if (!knownHosts) break;
    const found = knownHosts.lookup(name, node.sshPort);
    for (const key of found.trusted) {
      trust.knownBlobs.push(key.blob);
      trust.knownTypes.push(key.keyType);
      trust.expected.push(key.fingerprint);
    }
    trust.revoked.push(...found.revoked);
    trust.certAuthorityLines.push(...found.certAuthorityLines);
  }
  trust.expected = [...new Set([...trust.expected, ...trust.pinned])];
  trust.knownTypes = [...new Set(trust.knownTypes)];
  trust.certAuthorityLines = [...new Set(trust.certAuthorityLines)].sort((a, b) => a - b);
  return trust;
}

function describeLookup(node: NodeSpec, trust: NodeTrust, policy: HostKeyPolicy): string {
  const looked = trust.names.map((n) => hostPortName(n, node.sshPort)).join(', ');
  const where = policy.knownHosts ? `in ${policy.knownHosts.source}` : 'with no known_hosts file';
  return `${looked} ${where}; no pinned fingerprints`;
}
