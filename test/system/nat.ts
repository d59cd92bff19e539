// A node "behind NAT": an nftables table in its namespace drops TCP SYNs that arrive from the network, so
// nothing can open a connection to it while it still connects out (its replies and its own connections
// pass). Loopback is exempt: the node's own connections to its addresses, pods and ClusterIP stay local.
import net from 'node:net';
import { exec, run } from './netns.js';
import { nodeOf, type NodeRef, type Topology } from './topology.js';

const TABLE = 'egress_nat';

export async function dropInboundConnections(t: Topology, node: NodeRef): Promise<void> {
  const ruleset = `table inet ${TABLE} {\n  chain input {\n    type filter hook input priority 0;\n    iifname != "lo" tcp flags syn / syn,ack drop\n  }\n}\n`;
  await run('ip', ['netns', 'exec', nodeOf(t, node).namespace, 'nft', '-f', '-'], ruleset);
}

/** Removes the table; a no-op when it is not there. */
export async function allowInboundConnections(t: Topology, node: NodeRef): Promise<void> {
  await exec('ip', ['netns', 'exec', nodeOf(t, node).namespace, 'nft', 'delete', 'table', 'inet', TABLE]);
}

/** True when a TCP connection to host:port completes within waitMs (a dropped SYN never completes). */
export function tcpConnects(host: string, port: number, waitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (connected: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(connected);
    };
    const timer = setTimeout(() => done(false), waitMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
