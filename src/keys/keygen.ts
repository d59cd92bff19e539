import ssh2 from 'ssh2';
import { ConfigError } from '../errors.js';
import { fingerprintOf } from '../hostkeys/fingerprint.js';
import { generateEd25519Key } from './ed25519.js';
import type { OpenSshKeyPair } from './openssh-key-pair.js';
import { MAX_RSA_BITS, MIN_RSA_BITS, generateRsaKey } from './rsa.js';

export type KeyType = 'ed25519' | 'rsa';

export interface GenerateKeyPairOptions {
  /** Default 'ed25519'. */
  type?: KeyType;
  /** RSA only: 3072 (the default) to 16384. */
  bits?: number;
  /** Ends the public key line, e.g. "egress@control-plane". No line breaks or control characters. */
  comment?: string;
  /** Encrypts the private key; omitted or '' leaves it unencrypted. */
  passphrase?: string;
}

export interface GeneratedKeyPair extends OpenSshKeyPair {
  type: KeyType;
  bits: number;
  /** "SHA256:...", as `ssh-keygen -l` prints it. */
  fingerprint: string;
}

export const DEFAULT_RSA_BITS = MIN_RSA_BITS;

/**
 * A new SSH key pair for the tunnels: ed25519 by default (OpenSSH's own format, via ssh2), RSA on
 * request (node-forge). Bad options throw ConfigError naming the field.
 */
export async function generateKeyPair(options: GenerateKeyPairOptions = {}): Promise<GeneratedKeyPair> {
  const type = options.type ?? 'ed25519';
  if (type !== 'ed25519' && type !== 'rsa') {
    throw new ConfigError('type', `${JSON.stringify(type)} is not a key type (expected ed25519 or rsa)`);
  }
  const bits = checkBits(type, options.bits);
  const comment = checkComment(options.comment);
  if (options.passphrase !== undefined && typeof options.passphrase !== 'string') {
    throw new ConfigError('passphrase', 'must be a string');
  }
  const material = { ...(comment !== undefined && { comment }), ...(options.passphrase && { passphrase: options.passphrase }) };
  const pair = type === 'rsa' ? await generateRsaKey(bits, material) : generateEd25519Key(material);
  return { type, bits, ...pair, fingerprint: publicKeyFingerprint(pair.publicKey) };
}

/** The SHA256 fingerprint of an OpenSSH public key line. */
export function publicKeyFingerprint(publicKeyLine: string): string {
  const parsed = ssh2.utils.parseKey(publicKeyLine);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) throw new Error('generated public key does not parse');
  return fingerprintOf(key.getPublicSSH());
}

function checkBits(type: KeyType, bits: number | undefined): number {
  if (type === 'ed25519') {
    if (bits !== undefined && bits !== 256) throw new ConfigError('bits', 'only RSA keys take a size; ed25519 keys are 256 bits');
    return 256;
  }
  if (bits === undefined) return DEFAULT_RSA_BITS;
  if (!Number.isInteger(bits) || bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    throw new ConfigError('bits', `RSA keys need ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits, got ${JSON.stringify(bits)}`);
  }
  return bits;
}

/** A line break would let a comment add a second, attacker-chosen line to authorized_keys. */
function checkComment(comment: string | undefined): string | undefined {
  if (comment === undefined || comment === '') return undefined;
  if (typeof comment !== 'string' || /[\x00-\x1f\x7f]/.test(comment)) {
    throw new ConfigError('comment', 'must be text on one line, without control characters');
  }
  return comment;
}
