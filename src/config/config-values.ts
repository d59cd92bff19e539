/**
 * Value rules of the config file alone: socket modes, paths, the fixed lists. Plain
 * functions, so the file schema and the command-line flags check values the same way.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import type { LogLevel } from './config-types.js';

/** The SSH user when neither the config nor --user names one. */
export const DEFAULT_USER = 'root';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
export const LOG_FORMATS = ['json', 'text'] as const;
/** Kubernetes NodeAddressType values; a typo here would silently pick no address. */
export const ADDRESS_TYPES = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'] as const;

/** "0600", "600" or "0o600" -> 0o600. Permission bits only: setuid and friends mean nothing on a socket. */
export function parseMode(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(?:0o?)?([0-7]{3})$/.exec(text);
  return match?.[1] === undefined ? undefined : parseInt(match[1], 8);
}

/** sun_path holds 108 bytes including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

/** "~/x" is the user's home; relative paths are taken from `baseDir` (the config file's directory). */
export function resolvePath(file: string, baseDir: string): string {
  if (file === '~' || file.startsWith('~/')) return path.join(homedir(), file.slice(1));
  return path.resolve(baseDir, file);
}
