import sshpk from 'sshpk';
import { fingerprintOf, keyTypeOf } from '../hostkeys/fingerprint.js';
import { parseAgentKey } from '../nodes/agent-key.js';
import { checkAgentCertificate, isCertificateAlgorithm } from './agent-certificate.js';
import type { TrustedUserCA } from './agent-user-ca.js';

/**
 * Who may register as which node. The SSH user name is the node's name; a key is accepted for node N when
 * it is one of N's `agentKeys` (OpenSSH public key lines) or when it is a user certificate from a trusted
 * CA naming N (see agent-certificate.ts). A node can only ever register as itself.
 */

/** What the inventory knows about a node an agent claims to be; undefined when there is no such node. */
export type AgentNodeLookup = (name: string) => { agentKeys: readonly string[] } | undefined;

/** One publickey attempt, as ssh2's Server reports it in its 'authentication' event. */
export interface AgentAuthAttempt {
  node: string;
  remoteAddress: string;
  keyAlgorithm: string;
  keyBlob: Buffer;
  /** Present on the second, signed request; absent when the client only asks whether the key would do. */
  signature?: Buffer | undefined;
  signedData?: Buffer | undefined;
  hashAlgorithm?: string | undefined;
}

export type AgentAuthVerdict =
  /** The key is acceptable: `signed` says whether a valid signature proved it (authentication done). */
  | { ok: true; signed: boolean; fingerprint: string; via: string }
  /** `reason` is safe to log: fingerprints and names, never key material. */
  | { ok: false; reason: string; fingerprint: string };

export interface AgentAuthenticatorOptions {
  lookupNode: AgentNodeLookup;
  /** CAs trusted to sign agent certificates; none means certificates are refused. */
  userCAs?: readonly TrustedUserCA[];
  now?: () => Date;
}

export class AgentAuthenticator {
  constructor(private options: AgentAuthenticatorOptions) {}

  /** The CAs trusted from the next authentication on (a reload rotated the CA file); none refuses certificates. */
  setUserCAs(userCAs: readonly TrustedUserCA[] | undefined): void {
    const { userCAs: _previous, ...rest } = this.options;
    this.options = { ...rest, ...(userCAs && { userCAs }) };
  }

  check(attempt: AgentAuthAttempt): AgentAuthVerdict {
    const fingerprint = fingerprintOf(attempt.keyBlob);
    const refuse = (reason: string): AgentAuthVerdict => ({ ok: false, reason, fingerprint });
    const node = this.options.lookupNode(attempt.node);
    if (!node) return refuse(`no node named ${JSON.stringify(attempt.node)} in the inventory`);
    // ssh2 reports rsa-sha2-* requests as ssh-rsa with a hash; plain ssh-rsa means SHA-1, which OpenSSH 8.8+ refuses too.
    if (attempt.keyAlgorithm === 'ssh-rsa' && attempt.hashAlgorithm === undefined) return refuse('ssh-rsa (SHA-1) signatures are not accepted');
    if (isCertificateAlgorithm(attempt.keyAlgorithm)) return this.checkCertificate(attempt, fingerprint);
    const listed = node.agentKeys.map(parseAgentKey).find((key) => key?.getPublicSSH().equals(attempt.keyBlob));
    if (!listed) return refuse(`key ${fingerprint} is not among the agent keys of node ${attempt.node}`);
    if (!attempt.signature) return { ok: true, signed: false, fingerprint, via: 'agent key' };
    if (!attempt.signedData || listed.verify(attempt.signedData, attempt.signature, attempt.hashAlgorithm) !== true) {
      return refuse(`bad signature from key ${fingerprint}`);
    }
    return { ok: true, signed: true, fingerprint, via: 'agent key' };
  }

  private checkCertificate(attempt: AgentAuthAttempt, fingerprint: string): AgentAuthVerdict {
    const refuse = (reason: string): AgentAuthVerdict => ({ ok: false, reason, fingerprint });
    const cas = this.options.userCAs ?? [];
    if (cas.length === 0) return refuse('a certificate was offered but no agent user CA is configured');
    // OpenSSH names RSA certificates rsa-sha2-256/512-cert-v01 on the wire; the blob itself says ssh-rsa-cert-v01.
    const blobType = keyTypeOf(attempt.keyBlob);
    const expected = attempt.keyAlgorithm.replace(/^rsa-sha2-(256|512)-cert/, 'ssh-rsa-cert');
    if (blobType !== expected) return refuse(`certificate type ${String(blobType)} does not match ${attempt.keyAlgorithm}`);
    const verdict = checkAgentCertificate({
      algorithm: blobType,
      blob: attempt.keyBlob,
      node: attempt.node,
      remoteAddress: attempt.remoteAddress,
      trusted: cas,
      now: this.options.now?.(),
    });
    if (!verdict.ok) return refuse(verdict.reason);
    if (!attempt.signature) return { ok: true, signed: false, fingerprint, via: verdict.description };
    // ssh2 leaves a certificate's signature as the client sent it (algorithm name and blob): the certified key checks it.
    if (!attempt.signedData || !verifiedBy(verdict.subjectKey, attempt.signature, attempt.signedData)) {
      return refuse(`bad signature from ${verdict.description}`);
    }
    return { ok: true, signed: true, fingerprint, via: verdict.description };
  }
}

function verifiedBy(key: sshpk.Key, signatureBlob: Buffer, data: Buffer): boolean {
  try {
    const signature = sshpk.parseSignature(signatureBlob, key.type as sshpk.AlgorithmType, 'ssh');
    if (signature.hashAlgorithm === 'sha1') return false;
    const verifier = key.createVerify(signature.hashAlgorithm);
    verifier.update(data);
    return verifier.verify(signature);
  } catch {
    return false;
  }
}
