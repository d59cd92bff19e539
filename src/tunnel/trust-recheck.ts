import type { Logger } from '../log.js';
import { HostKeyMismatchError, type EgressError } from '../errors.js';
import { recheckHostKey, type HostKeyPolicy } from '../hostkeys/host-key-verifier.js';
import { TunnelState } from './state.js';
import type { Tunnel } from './tunnel.js';

/** What a trust reload did to the connected tunnels. */
export interface TrustRecheck {
  /** Nodes whose connected host key was checked against the new trust. */
  checked: number;
  /** Nodes whose key is no longer trusted: disconnected, and refused when they reconnect. */
  disconnected: string[];
}

/**
 * Checks each READY forward tunnel's host key against `policy` and drops the ones it no longer trusts.
 * A reverse connection is skipped: its fingerprint is the agent's key, which known_hosts does not govern.
 */
export function recheckTunnels(tunnels: Iterable<Tunnel>, policy: HostKeyPolicy, log: Logger): TrustRecheck {
  const result: TrustRecheck = { checked: 0, disconnected: [] };
  for (const tunnel of tunnels) {
    const { state, agent, hostKeyFingerprint } = tunnel.status();
    if (state !== TunnelState.READY || agent !== undefined || hostKeyFingerprint === undefined) continue;
    result.checked += 1;
    const verdict = recheckHostKey(tunnel.spec, policy, hostKeyFingerprint);
    if (verdict.ok) continue;
    log.error('host key no longer trusted: disconnecting node', {
      node: tunnel.name,
      code: verdict.error.code,
      presented: hostKeyFingerprint,
      trusted: trustedFingerprints(verdict.error),
    });
    tunnel.dropUntrusted(verdict.error);
    result.disconnected.push(tunnel.name);
  }
  return result;
}

/** What the new trust expects for the node (a mismatch); none when it trusts no key of the node. */
function trustedFingerprints(error: EgressError): string[] {
  return error instanceof HostKeyMismatchError ? error.expected : [];
}
