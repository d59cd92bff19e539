// Our side of each comparison: a pool over the bench's sshd(s) and a dialer that may reach loopback.
import type { Duplex } from 'node:stream';
import { Dialer } from '../../src/dialer/dialer.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { TunnelPoolOptions } from '../../src/tunnel/pool-options.js';
import type { SshKeys } from './sshd.js';
import { USER } from './sshd.js';
import type { Opener } from './traffic.js';

export interface BenchPool {
  pool: TunnelPool;
  dialer: Dialer;
  /** Opens a stream to 127.0.0.1:port (a peer server) through `node`'s tunnel. */
  opener(node: string, port: number): Opener;
  close(): Promise<void>;
}

/** `beforeReady` runs after setNodes and before waiting for READY (to attach an agent server, start agents). */
export async function startPool(
  keys: SshKeys,
  nodes: NodeSpec[],
  extra: Partial<TunnelPoolOptions> = {},
  beforeReady?: (pool: TunnelPool) => Promise<void>,
): Promise<BenchPool> {
  const pool = new TunnelPool({
    user: USER,
    identityFile: keys.identityFile,
    knownHostsFile: keys.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    ...extra,
  });
  pool.setNodes(nodes);
  try {
    await beforeReady?.(pool);
    await pool.ready({ timeoutMs: 30_000 });
  } catch (err) {
    await pool.close();
    throw err;
  }
  const dialer = new Dialer(pool, { allowedCIDRs: ['127.0.0.1/32'] });
  return {
    pool,
    dialer,
    opener: (node, port) => (): Promise<Duplex> => dialer.dial(`127.0.0.1:${port}`, { via: node }),
    close: () => pool.close(),
  };
}
