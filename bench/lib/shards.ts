// Parent side of bench/lib/shard-main.ts: the nodes partitioned over `count` shard processes.
import type { ChildProcess } from 'node:child_process';
import { forkTs, reply } from './child.js';
import { stop } from './proc.js';
import type { ShardConfig } from './shard-main.js';
import type { Sshd, SshKeys } from './sshd.js';
import { tcpOpener, type Opener } from './traffic.js';

export interface Shards {
  /** Each shard process's pid. */
  pids: number[];
  /** Opens a stream through `node`'s tunnel, in the shard that owns the node. */
  opener(node: string): Opener;
  close(): Promise<void>;
}

/** Node i goes to shard i mod count: an even split of the bench's nodes (a real one would hash the name). */
export async function startShards(keys: SshKeys, nodes: Sshd[], count: number, target: string): Promise<Shards> {
  const children: ChildProcess[] = [];
  const ports = new Map<string, number>();
  try {
    for (let s = 0; s < count; s++) {
      const config: ShardConfig = { keys, nodes: nodes.filter((_, i) => i % count === s).map((n) => n.spec), target };
      const child = forkTs('./shard-main.ts', [JSON.stringify(config)]);
      children.push(child);
      for (const [node, port] of Object.entries(await reply<Record<string, number>>(child, 'ready', 60_000))) ports.set(node, port);
    }
  } catch (err) {
    await Promise.all(children.map(stop));
    throw err;
  }
  return {
    pids: children.map((c) => c.pid as number),
    opener(node) {
      const port = ports.get(node);
      if (port === undefined) throw new Error(`no shard owns ${node}`);
      return tcpOpener('127.0.0.1', port);
    },
    close: async () => void (await Promise.all(children.map(stop))),
  };
}
