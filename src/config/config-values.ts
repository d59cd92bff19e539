/**
 * Value rules of the config file alone: listen addresses, socket modes, paths, the fixed lists. Plain
 * functions, so the file schema and the command-line flags check values the same way.
 */
import { homedir } from 'node:os';
import path from 'node:path';
import { parseIp } from '../net/address.js';
import { isHostName, normalizeHostName } from '../net/hostname.js';
import { isPortOrZero, portDigits } from '../net/port.js';
import type { LogLevel } from './config-types.js';

export interface HostPort {
  host: string;
  port: number;
}

export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
export const LOG_FORMATS = ['json', 'text'] as const;
/** Kubernetes NodeAddressType values; a typo here would silently pick no address. */
export const ADDRESS_TYPES = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'] as const;

export const LISTEN_EXAMPLE = 'host:port (such as "127.0.0.1:8132" or "[::1]:8132")';

/**
 * "127.0.0.1:1080", "[::1]:1080" or "name:1080" (the host split at the last colon would break IPv6, so
 * IPv6 must be bracketed). Port 0 asks the system for a free port.
 */
export function parseListenAddress(text: unknown): HostPort | undefined {
  if (typeof text !== 'string') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/.exec(text);
  const port = portDigits(match?.[3] ?? '');
  if (!match || !isPortOrZero(port)) return undefined;
  const v6 = match[1];
  if (v6 !== undefined) {
    const ip = parseIp(v6);
    return ip?.kind() === 'ipv6' ? { host: ip.toString(), port } : undefined;
  }
  const host = match[2] ?? '';
  const ip = parseIp(host);
  if (ip) return { host: ip.toString(), port };
  return isHostName(host) ? { host: normalizeHostName(host), port } : undefined;
}

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
