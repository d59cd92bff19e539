import { isDeepStrictEqual } from 'node:util';
import type { ResolvedPoolOptions, TunnelPoolOptions } from './pool-options.js';

/**
 * The options each new SSH connection is made with (ssh2's settings, the key, the host-key trust): changing
 * one builds a new connector for the connections made from then on, while connections already up keep
 * theirs (a healthy tunnel is not dropped for a new keepalive or window).
 */
export const CONNECTION_FIELDS = [
  'user',
  'identityFile',
  'passphrase',
  'passphraseFile',
  'passphraseEnv',
  'agentSocket',
  'knownHostsFile',
  'insecureIgnoreHostKeys',
  'trustOnFirstUseFile',
  'connectTimeoutMs',
  'handshakeTimeoutMs',
  'keepaliveIntervalMs',
  'keepaliveCountMax',
  'maxWriteBufferBytes',
  'connectionWindowBytes',
] as const satisfies ReadonlyArray<keyof TunnelPoolOptions>;

/** Options only a new pool takes: a reconfigure that changes them is refused. */
export const FIXED_FIELDS = ['connector', 'logger'] as const satisfies ReadonlyArray<keyof TunnelPoolOptions>;

export function changedFields<K extends keyof ResolvedPoolOptions>(fields: readonly K[], from: ResolvedPoolOptions, to: ResolvedPoolOptions): K[] {
  return fields.filter((field) => !isDeepStrictEqual(from[field], to[field]));
}
