import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { KeyError } from '../errors.js';
import { readPrivateFile } from '../fs/file-permissions.js';
import { fingerprintOf } from '../hostkeys/fingerprint.js';
import { generateEd25519Key } from '../keys/ed25519.js';
import { writeKeyPair } from '../keys/write-key-pair.js';

/** The key the agent listener proves itself with; nodes pin it in their known_hosts. */
export interface AgentHostKey {
  privateKey: Buffer;
  /** `ssh-ed25519 AAAA... comment`, as written to `<file>.pub`. */
  publicKeyLine: string;
  fingerprint: string;
  /** True when this call made the key (first start). */
  created: boolean;
}

/**
 * Loads the agent listener's host key, or creates an ed25519 pair (0600, public line beside it as
 * `<file>.pub`) when the file does not exist. A file that exists but cannot be used is an error naming it:
 * regenerating it would silently change the key every node has pinned.
 */
export async function loadOrCreateAgentHostKey(file: string): Promise<AgentHostKey> {
  let privateKey: Buffer;
  try {
    privateKey = await readPrivateFile(file, 'agent host key', (message, cause) => new KeyError(message, cause));
  } catch (err) {
    if (!isMissing(err)) throw err;
    return createHostKey(file);
  }
  const parsed = parse(privateKey);
  if (parsed instanceof Error) throw new KeyError(`agent host key ${file} is not a usable private key: ${parsed.message}`, parsed);
  if (!parsed.isPrivateKey()) throw new KeyError(`agent host key ${file} holds a public key; give the private key file`);
  if (parsed.type !== 'ssh-ed25519' && !/^(ssh-rsa|ecdsa-sha2-)/.test(parsed.type)) {
    throw new KeyError(`agent host key ${file} has unsupported type ${parsed.type}`);
  }
  const blob = parsed.getPublicSSH();
  return { privateKey, publicKeyLine: await publicLine(file, parsed.type, blob), fingerprint: fingerprintOf(blob), created: false };
}

async function createHostKey(file: string): Promise<AgentHostKey> {
  const pair = generateEd25519Key({ comment: 'ssh-egress agent listener' });
  await writeKeyPair(file, pair);
  const parsed = parse(Buffer.from(pair.privateKey));
  if (parsed instanceof Error) throw new KeyError(`generated agent host key ${file} does not parse`, parsed);
  return { privateKey: Buffer.from(pair.privateKey), publicKeyLine: pair.publicKey, fingerprint: fingerprintOf(parsed.getPublicSSH()), created: true };
}

/** The `.pub` beside the key when it holds this key; otherwise the line made from the key itself. */
async function publicLine(file: string, type: string, blob: Buffer): Promise<string> {
  const made = `${type} ${blob.toString('base64')}`;
  const existing = await readFile(`${file}.pub`, 'utf8').catch(() => undefined);
  const line = existing?.trim();
  return line !== undefined && line.startsWith(`${made} `) ? line : made;
}

function isMissing(err: unknown): boolean {
  const cause = (err as { cause?: unknown }).cause;
  return (cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** ssh2 returns its errors, but a crypto failure inside it could still throw: treat both alike. */
function parse(key: Buffer): ssh2.ParsedKey | Error {
  try {
    return ssh2.utils.parseKey(key);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
