// Parent side of bench/lib/shard-main.ts: the nodes partitioned over `count` shard processes.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { forkTs, reply } from './child.js';
import { stop } from './proc.js';
import type { HandoffMessage, ShardConfig } from './shard-main.js';
import type { Sshd, SshKeys } from './sshd.js';
import { tcpOpener, type Opener } from './traffic.js';

export interface Shards {
  /** Each shard process's pid. */
  pids: number[];
  /** Opens a stream to targets[target] through `node`'s tunnel, on the forwarding port of the shard owning the node. */
  opener(node: string, target?: number): Opener;
  /**
   * A loopback port of this process whose connections are accepted here and handed to the shard owning
   * `node` (the socket sent over IPC) to be carried to targets[target]: routing by a primary that owns the listener.
   */
  router(node: string, target?: number): Promise<{ port: number; close(): void }>;
  close(): Promise<void>;
}

/** Node i goes to shard i mod count: an even split of the bench's nodes (a real one would hash the name). */
export async function startShards(keys: SshKeys, nodes: Sshd[], count: number, targets: string[]): Promise<Shards> {
  const children: ChildProcess[] = [];
  const owner = new Map<string, { child: ChildProcess; ports: number[] }>();
  try {
    for (let s = 0; s < count; s++) {
      const config: ShardConfig = { keys, nodes: nodes.filter((_, i) => i % count === s).map((n) => n.spec), targets };
      const child = forkTs('./shard-main.ts', [JSON.stringify(config)]);
      children.push(child);
      for (const [node, ports] of Object.entries(await reply<Record<string, number[]>>(child, 'ready', 60_000))) owner.set(node, { child, ports });
    }
  } catch (err) {
    await Promise.all(children.map(stop));
    throw err;
  }
  const ownerOf = (node: string): { child: ChildProcess; ports: number[] } => {
    const o = owner.get(node);
    if (!o) throw new Error(`no shard owns ${node}`);
    return o;
  };
  return {
    pids: children.map((c) => c.pid as number),
    opener: (node, target = 0) => tcpOpener('127.0.0.1', ownerOf(node).ports[target]!),
    async router(node, target = 0) {
      const { child } = ownerOf(node);
      const message: HandoffMessage = { handoff: { node, target: targets[target]! } };
      // Paused on accept: nothing is read here, so every byte the client sends reaches the shard.
      const server = net.createServer({ pauseOnConnect: true }, (socket) => child.send(message, socket, { keepOpen: false }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
    },
    close: async () => void (await Promise.all(children.map(stop))),
  };
}
