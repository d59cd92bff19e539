// One shard of a sharded pool: a process owning the SSH connections to its share of the nodes. A stream
// reaches it in one of two ways: on a loopback port per node and target that carries each accepted
// connection through that node's tunnel (as `ssh -L` does), or as a connection another process accepted
// and handed over (a socket sent over IPC), which is how a primary owning the listeners would route it.
import net from 'node:net';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { splice } from '../../src/frontends/splice.js';
import { startPool } from './pool.js';
import type { SshKeys } from './sshd.js';

export interface ShardConfig {
  keys: SshKeys;
  nodes: NodeSpec[];
  /** Where streams go, through the node's tunnel ("127.0.0.1:port"); one forwarding port per node and target. */
  targets: string[];
}

/** A connection handed over with this message is carried to `target` through `node`'s tunnel. */
export interface HandoffMessage {
  handoff: { node: string; target: string };
}

const config = JSON.parse(process.argv[2] as string) as ShardConfig;
const pool = await startPool(config.keys, config.nodes);

function carry(client: net.Socket, node: string, target: string): void {
  client.on('error', () => undefined);
  pool.dialer.dial(target, { via: node, allowHalfOpen: true }).then(
    (stream) => void splice(client, stream),
    () => client.destroy(),
  );
}

async function forward(node: string, target: string): Promise<number> {
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => carry(client, node, target));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

process.on('message', (msg: HandoffMessage, socket?: net.Socket) => {
  if (!socket) return;
  socket.setNoDelay(true);
  carry(socket, msg.handoff.node, msg.handoff.target); // splice's pipe starts reading it
});

const ports: Record<string, number[]> = {};
for (const n of config.nodes) {
  ports[n.name] = [];
  for (const t of config.targets) ports[n.name]!.push(await forward(n.name, t));
}
process.on('disconnect', () => void pool.close().finally(() => process.exit(0)));
process.send?.({ ready: ports });
