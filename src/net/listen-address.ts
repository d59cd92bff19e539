/** Where a listener binds: a host (an address or a name) and a port. */
import { parseIp } from './address.js';
import { isHostName, normalizeHostName } from './hostname.js';
import { isPortOrZero, portDigits } from './port.js';

export interface HostPort {
  host: string;
  port: number;
}

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
