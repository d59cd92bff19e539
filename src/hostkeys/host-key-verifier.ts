import {
  EgressError,
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
 * talking to, so there is one verifier per node. Pure apart from the injected first-use store.
 */

export interface HostKeyPolicy {
  knownHosts?: KnownHosts;
  /**
   * Trust on first use: its recorded keys are trusted like known_hosts, and a node that nothing trusts yet
   * (no line, no pin) has the key it presents recorded and accepted.
   */
  trustOnFirstUse?: FirstUseTrustStore;
  /** Accept any host key. For labs only; the caller must warn loudly. */
  insecureIgnoreHostKeys?: boolean;
}

/** Where first-use keys are kept. Synchronous: it is called from inside ssh2's hostVerifier. */
export interface FirstUseTrustStore {
  /** The keys recorded so far, current as of the call. */
  knownHosts(): KnownHosts;
  /** Records the node's key durably before returning; throws a KnownHostsError when it cannot. */
  record(node: NodeSpec, keyBlob: Buffer): void;
}

/** `recorded` is set when trust on first use accepted and recorded the key just now. */
export type HostKeyVerdict =
  | { ok: true; fingerprint: string; recorded?: true }
  | { ok: false; error: EgressError };

interface NodeTrust {
  names: string[];
  /** Blobs from known_hosts: compared byte for byte, not by fingerprint. */
  knownBlobs: Buffer[];
  knownTypes: string[];
  pinned: Set<string>;
  revoked: Buffer[];
  /** "<file>:<line>" of matching @cert-authority lines. */
  certAuthorityLines: string[];
  /** Every trusted fingerprint, for the mismatch message. */
  expected: string[];
}

export function createHostKeyVerifier(node: NodeSpec, policy: HostKeyPolicy): (keyBlob: Buffer) => HostKeyVerdict {
  return (keyBlob) => judgeHostKey(node, policy, { fingerprint: fingerprintOf(keyBlob), blob: keyBlob });
}

/**
 * Whether the key a connected node presented (known by its fingerprint only) is still trusted, after the
 * trust was read again. Records nothing: a node nothing vouches for under trust on first use stays trusted,
 * as its next connection would be.
 */
export function recheckHostKey(node: NodeSpec, policy: HostKeyPolicy, fingerprint: string): HostKeyVerdict {
  return judgeHostKey(node, policy, { fingerprint });
}

/** A presented host key: its blob when the handshake is under way, only its fingerprint afterwards. */
interface PresentedKey {
  fingerprint: string;
  blob?: Buffer;
}

function judgeHostKey(node: NodeSpec, policy: HostKeyPolicy, key: PresentedKey): HostKeyVerdict {
  const { fingerprint } = key;
  if (policy.insecureIgnoreHostKeys) return { ok: true, fingerprint };
  // Worked out now, not when the attempt began: a first-use key recorded meanwhile must count.
  let trust: NodeTrust;
  try {
    trust = nodeTrust(node, policy);
  } catch (err) {
    return { ok: false, error: trustStoreError(err) };
  }
  // Blobs are compared byte for byte when we have them; a connected node's key only by fingerprint.
  const isKey = (blob: Buffer): boolean => (key.blob ? blob.equals(key.blob) : fingerprintOf(blob) === fingerprint);
  // Revocation beats every other source of trust, as in OpenSSH.
  if (trust.revoked.some(isKey)) {
    return { ok: false, error: new HostKeyRevokedError(node.name, fingerprint) };
  }
  // Only a @cert-authority line vouches for this node: refusing beats pretending we checked a certificate.
  const firstCaLine = trust.certAuthorityLines[0];
  if (firstCaLine !== undefined && trust.expected.length === 0) {
    return {
      ok: false,
      error: new KnownHostsError(
        `@cert-authority in ${firstCaLine} cannot be honoured: ssh2 does not support ` +
          `OpenSSH host certificates; pin host keys instead (node ${node.name})`,
      ),
    };
  }
  if (trust.knownBlobs.some(isKey) || trust.pinned.has(fingerprint)) {
    return { ok: true, fingerprint };
  }
  if (trust.expected.length > 0) {
    return { ok: false, error: new HostKeyMismatchError(node.name, trust.expected, fingerprint) };
  }
  if (policy.trustOnFirstUse) {
    if (!key.blob) return { ok: true, fingerprint };
    try {
      policy.trustOnFirstUse.record(node, key.blob);
    } catch (err) {
      return { ok: false, error: trustStoreError(err) };
    }
    return { ok: true, fingerprint, recorded: true };
  }
  return { ok: false, error: new HostKeyUnknownError(node.name, describeLookup(node, trust, policy), fingerprint) };
}

/**
 * ssh2's default host key algorithms (ssh2 1.17 lib/protocol/constants.js), reordered so key types that
 * known_hosts trusts for this node come first, as OpenSSH does (order_hostkeyalgs). Without this a node
 * with several host keys may present one we have no line for, which reads as a mismatch. Undefined when
 * known_hosts has nothing for the node (keep ssh2's defaults). Pass as `algorithms.serverHostKey`.
 */
export function hostKeyAlgorithmsFor(node: NodeSpec, policy: HostKeyPolicy): string[] | undefined {
  let knownTypes: string[];
  try {
    knownTypes = nodeTrust(node, policy).knownTypes;
  } catch {
    return undefined; // the verifier reports why the trust store cannot be read
  }
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

/** The known_hosts files to consult: the configured one and the first-use records. Throws if one is unusable. */
function trustSources(policy: HostKeyPolicy): KnownHosts[] {
  const sources = policy.knownHosts ? [policy.knownHosts] : [];
  if (policy.trustOnFirstUse) sources.push(policy.trustOnFirstUse.knownHosts());
  return sources;
}

function nodeTrust(node: NodeSpec, policy: HostKeyPolicy): NodeTrust {
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
  for (const knownHosts of trustSources(policy)) {
    const caLines = new Set<number>();
    for (const name of names) {
      const found = knownHosts.lookup(name, node.sshPort);
      for (const key of found.trusted) {
        trust.knownBlobs.push(key.blob);
        trust.knownTypes.push(key.keyType);
        trust.expected.push(key.fingerprint);
      }
      trust.revoked.push(...found.revoked);
      found.certAuthorityLines.forEach((line) => caLines.add(line));
    }
    trust.certAuthorityLines.push(...[...caLines].sort((a, b) => a - b).map((line) => `${knownHosts.source}:${line}`));
  }
  trust.expected = [...new Set([...trust.expected, ...trust.pinned])];
  trust.knownTypes = [...new Set(trust.knownTypes)];
  return trust;
}

function describeLookup(node: NodeSpec, trust: NodeTrust, policy: HostKeyPolicy): string {
  const looked = trust.names.map((n) => hostPortName(n, node.sshPort)).join(', ');
  const files = trustSources(policy).map((k) => k.source);
  const where = files.length > 0 ? `in ${files.join(' and ')}` : 'with no known_hosts file';
  return `${looked} ${where}; no pinned fingerprints`;
}

function trustStoreError(err: unknown): EgressError {
  if (err instanceof EgressError) return err;
  return new KnownHostsError(`host key trust store failed: ${err instanceof Error ? err.message : String(err)}`, err);
}
