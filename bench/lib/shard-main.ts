// One shard of a sharded pool: a process owning the SSH connections to its share of the nodes, with one
// loopback port per node that carries each accepted connection to the target through that node's tunnel
// (as `ssh -L` does). The parent routes a stream to the shard that owns its node by picking that port.
import net from 'node:net';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { splice } from '../../src/frontends/splice.js';
import { startPool } from './pool.js';
import type { SshKeys } from './sshd.js';

export interface ShardConfig {
  keys: SshKeys;
  nodes: NodeSpec[];
  /** Where every stream goes, through the node's tunnel. */
  target: string;
}

const config = JSON.parse(process.argv[2] as string) as ShardConfig;
const pool = await startPool(config.keys, config.nodes);

async function forward(node: string): Promise<number> {
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    client.on('error', () => undefined);
    pool.dialer.dial(config.target, { via: node, allowHalfOpen: true }).then(
      (stream) => void splice(client, stream),
      () => client.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

const ports: Record<string, number> = {};
for (const n of config.nodes) ports[n.name] = await forward(n.name);
process.on('disconnect', () => void pool.close().finally(() => process.exit(0)));
process.send?.({ ready: ports });
