/**
 * Listeners that would let strangers use the tunnels: each front end refuses them, and the config file says
 * so before anything starts, in the same words.
 */
import { isLoopbackHost } from '../net/loopback.js';
import type { HostPort } from '../net/listen-address.js';

/**
 * Plain (not TLS) HTTP CONNECT has no authentication: loopback only. `remedy` says how to get an authenticated
 * listener in the words of where the listener came from (config fields or flags).
 */
export function plainConnectExposure(tcp: HostPort | undefined, remedy = 'use tls (mutual TLS) or socket'): string | undefined {
  if (!tcp || isLoopbackHost(tcp.host)) return undefined;
  return `${tcp.host} is not a loopback address: plain CONNECT has no authentication, so it listens on loopback only; ${remedy}`;
}

/** Why a SOCKS TCP listener would let strangers use the tunnels, or undefined when it would not. */
export function socksExposure(tcp: HostPort | undefined, users: number): string | undefined {
  if (!tcp || users > 0 || isLoopbackHost(tcp.host)) return undefined;
  return `${tcp.host} is not a loopback address, so anyone who reaches it could use the tunnels: add listeners.socks.users to require a password`;
}

/** The admin server has no authentication and tells node addresses: loopback unless explicitly allowed. */
export function adminExposureOf(tcp: HostPort | undefined, allowed: boolean | undefined): string | undefined {
  if (!tcp || allowed || isLoopbackHost(tcp.host)) return undefined;
  return `${tcp.host} is not a loopback address and the admin server has no authentication: set listeners.admin.allowNonLoopback: true to mean it`;
}
