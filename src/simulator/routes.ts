/** The kinds of service a fake node can forward a stream to. */
export type ServiceKind = 'kubelet' | 'node-http' | 'echo' | 'app';

export const ECHO_PORT = 7;
export const APP_PORT = 8080;
export const NODE_HTTP_PORT = 9100;

/** What a fake node knows about itself and the cluster when deciding where a stream goes. */
export interface NodeView {
  /** Its address, name and aliases: every way to name the node itself. */
  selfNames: string[];
  kubeletPort: number;
  /** Only its own pods: a node cannot reach another node's pods, which keeps routing tests honest. */
  podIPs: string[];
  clusterIP: string;
}

/**
 * Which service answers a forwarding request for destHost:destPort on this node, or undefined when
 * nothing does (the node then refuses the channel with "connect failed", as sshd does).
 */
export function routeFor(node: NodeView, destHost: string, destPort: number): ServiceKind | undefined {
  const host = destHost.toLowerCase();
  const isSelf = node.selfNames.some((name) => name.toLowerCase() === host);
  const isOwnPod = node.podIPs.includes(host);
  const isClusterIP = host === node.clusterIP;

  if (isSelf && destPort === node.kubeletPort) return 'kubelet';
  if (isSelf && destPort === NODE_HTTP_PORT) return 'node-http';
  if ((isSelf || isOwnPod || isClusterIP) && destPort === ECHO_PORT) return 'echo';
  if ((isOwnPod || isClusterIP) && destPort === APP_PORT) return 'app';
  return undefined;
}
