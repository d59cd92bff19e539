/**
 * Which way a node's tunnel goes: `forward` dials the node's sshd; `reverse` waits for the node's agent to
 * dial in (nodes behind NAT or a firewall); `auto` does both and uses whichever connection is READY.
 */
export const TUNNEL_MODES = ['forward', 'reverse', 'auto'] as const;
export type TunnelMode = (typeof TUNNEL_MODES)[number];

/** The direction of one connection: we dialled the node, or its agent dialled us. */
export type TunnelDirection = 'forward' | 'reverse';

/** What an inventory without a `tunnel:` setting means, so existing users see no change. */
export const DEFAULT_TUNNEL_MODE: TunnelMode = 'forward';

/** A node takes agents unless it is forward only. */
export function acceptsAgents(mode: TunnelMode): boolean {
  return mode !== 'forward';
}

/** A node is dialled unless it is reverse only. */
export function dialsNode(mode: TunnelMode): boolean {
  return mode !== 'reverse';
}
