import ssh2, { type ServerHostKeyAlgorithm } from 'ssh2';
import type { NodeSpec } from '../nodes/node-spec.js';
import { fingerprintOf, keyTypeOf } from '../hostkeys/fingerprint.js';
import { tcpConnect } from './tcp-connect.js';

/**
 * Fetches a node's host keys the way ssh-keyscan does: one handshake per key type, each offering only
 * that type's signature algorithms, dropped the moment the server's key arrives. We never authenticate,
 * and the key is refused, so nothing but key exchange happens.
 */

/** Key families and the algorithms that ask for them (ECDSA: any curve; RSA: any signature hash). */
export const SCAN_KEY_TYPES = {
  ed25519: ['ssh-ed25519'],
  ecdsa: ['ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'],
  rsa: ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
} as const satisfies Record<string, readonly string[]>;
export type ScanKeyType = keyof typeof SCAN_KEY_TYPES;

export interface ScannedKey {
  /** The key's own type, as in known_hosts: "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa". */
  keyType: string;
  blob: Buffer;
  fingerprint: string;
}

export interface NodeScan {
  node: NodeSpec;
  keys: ScannedKey[];
  /** Why no key (or not every key) could be fetched; absent when every asked type was answered or not offered. */
  error?: Error;
}

/** What ssh2 says when the server has no key of the types we offered: the node simply lacks that type. */
const NOT_OFFERED = /no matching host key format/i;

/** Every asked type in turn; a connection failure ends the node (the next type would fail alike). */
export async function scanNode(node: NodeSpec, types: readonly ScanKeyType[], timeoutMs: number): Promise<NodeScan> {
  const keys: ScannedKey[] = [];
  for (const type of types) {
    try {
      const blob = await fetchHostKey(node, SCAN_KEY_TYPES[type], timeoutMs);
      if (blob && !keys.some((k) => k.blob.equals(blob))) {
        keys.push({ keyType: keyTypeOf(blob) ?? 'unknown', blob, fingerprint: fingerprintOf(blob) });
      }
    } catch (err) {
      return { node, keys, error: err as Error };
    }
  }
  return { node, keys };
}

/** The host key the node signs with for `algorithms`, or undefined when it has none of that type. */
export async function fetchHostKey(node: NodeSpec, algorithms: readonly string[], timeoutMs: number): Promise<Buffer | undefined> {
  const sock = await tcpConnect(node, timeoutMs, new AbortController().signal);
  const client = new ssh2.Client();
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined, key?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.on('error', () => undefined); // the refused key makes ssh2 complain after we are done
      client.end();
      sock.destroy();
      if (err) reject(err);
      else resolve(key);
    };
    const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for the host key`)), timeoutMs);
    client.once('error', (err: Error) => finish(NOT_OFFERED.test(err.message) ? undefined : new Error(`SSH handshake failed: ${err.message}`)));
    client.once('close', () => finish(new Error('connection closed before the host key arrived')));
    client.connect({
      sock,
      username: 'ssh-egress-scan', // required by ssh2; never sent, since we stop during key exchange
      algorithms: { serverHostKey: [...algorithms] as ServerHostKeyAlgorithm[] },
      hostVerifier: (key: Buffer): boolean => {
        finish(undefined, Buffer.from(key));
        return false;
      },
      readyTimeout: timeoutMs,
    });
  });
}
