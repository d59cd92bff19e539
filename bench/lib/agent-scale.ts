// Reverse tunnels at scale: 1,000 simulated agents (bench/lib/fake-agents-main.ts) registering at once with an
// AgentServer attached to a pool of 1,000 reverse nodes (bench/lib/agent-pool-main.ts), against the forward
// cold start of section 5 (fake sshd nodes, bench/lib/scale-pool-main.ts without streams) in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AgentPoolRequest, AgentPoolResult } from './agent-pool-main.js';
import { forkTs, reply } from './child.js';
import { scaled, type BenchOptions } from './context.js';
import type { NodeAddress } from './fake-nodes-main.js';
import { stop } from './proc.js';
import { fmt, ratio, verdict, type Table } from './report.js';
import type { ScaleRequest, ScaleResult } from './scale-pool-main.js';
import { figure } from './stats.js';
import { POOL_DEFAULTS } from '../../src/tunnel/pool-options.js';

const KiB = 1024;
const USER = 'egress';

/** What one cold start costs the pool process: time to all READY, and memory per tunnel after GC. */
interface ColdStart {
  readyMs: number;
  rssPerTunnel: number;
  heapPerTunnel: number;
}

const perTunnel = (r: AgentPoolResult, count: number): ColdStart => ({
  readyMs: r.readyMs,
  rssPerTunnel: (r.rssReady - r.rssBefore) / count / KiB,
  heapPerTunnel: (r.heapReady - r.heapBefore) / count / KiB,
});

async function forwardColdStart(nodes: NodeAddress[], dir: string): Promise<ColdStart> {
  const pool = forkTs('./scale-pool-main.ts');
  try {
    const request: ScaleRequest = { nodes, user: USER, identityFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts'), streams: 0 };
    pool.send(request);
    return perTunnel(await reply<ScaleResult>(pool, 'result', 120_000), nodes.length);
  } finally {
    await stop(pool);
  }
}

async function reverseColdStart(count: number): Promise<ColdStart> {
  const agents = forkTs('./fake-agents-main.ts', [String(count)]);
  const pool = forkTs('./agent-pool-main.ts');
  try {
    const agentKey = await reply<string>(agents, 'ready', 30_000);
    const request: AgentPoolRequest = { agents: count, agentKey };
    pool.send(request);
    const port = await reply<number>(pool, 'listening', 30_000);
    const result = reply<AgentPoolResult>(pool, 'result', 120_000);
    pool.send({ go: true });
    agents.send({ go: port });
    try {
      return perTunnel(await result, count);
    } catch (err) {
      agents.send({ report: true });
      const failures = await reply<{ count: number; first?: string }>(agents, 'failures', 5_000).catch(() => undefined);
      throw new Error(`${(err as Error).message}${failures ? `; agents: ${failures.count} failed (${failures.first ?? 'none'})` : ''}`);
    }
  } finally {
    await stop(pool);
    await stop(agents);
  }
}

export async function agentsAtOnce(options: BenchOptions, log: (line: string) => void): Promise<{ method: string; tables: Table[]; notes: string[] }> {
  const count = scaled(1000, options, 10);
  const runs = Math.min(options.runs, 3);
  const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-agents-'));
  const nodesProcess = forkTs('./fake-nodes-main.ts', [String(count), dir, USER]);
  const forward: ColdStart[] = [];
  const reverse: ColdStart[] = [];
  try {
    const nodes = await reply<NodeAddress[]>(nodesProcess, 'ready', 60_000);
    for (let run = 0; run < runs; run++) {
      forward.push(await forwardColdStart(nodes, dir));
      reverse.push(await reverseColdStart(count));
      const line = (c: ColdStart): string => `READY in ${(c.readyMs / 1000).toFixed(1)} s, ${c.rssPerTunnel.toFixed(0)} KiB RSS, ${c.heapPerTunnel.toFixed(0)} KiB heap per tunnel`;
      log(`  ${count} tunnels, run ${run + 1}: forward ${line(forward.at(-1)!)}; reverse ${line(reverse.at(-1)!)}`);
    }
  } finally {
    await stop(nodesProcess);
    rmSync(dir, { recursive: true, force: true });
  }
  const of = (list: ColdStart[], pick: (c: ColdStart) => number) => figure(list.map(pick));
  const ready = (c: ColdStart): number => c.readyMs / 1000;
  const rss = (c: ColdStart): number => c.rssPerTunnel;
  const heap = (c: ColdStart): number => c.heapPerTunnel;
  const row = (label: string, pick: (c: ColdStart) => number, unit: string, digits = 0): string[] => [
    label, `${fmt(of(forward, pick), digits)} ${unit}`, `${fmt(of(reverse, pick), digits)} ${unit}`, ratio(of(reverse, pick).median, of(forward, pick).median),
  ];
  const readyS = of(reverse, ready).median;
  const rssRatio = of(reverse, rss).median / of(forward, rss).median;
  return {
    method:
      `Then ${count} tunnels from cold start, ${runs} runs, forward and reverse alternating, the pool alone in a fresh process each time. ` +
      `Reverse: ${count} simulated agents (ssh2 Clients in one child process, each from its own loopback address 127.0.10.x–, ` +
      'one ed25519 key listed in every node\'s agentKeys) connect at once, register `tcpip-forward` and answer the SOCKS5 probe, ' +
      `against an AgentServer attached to a pool of ${count} reverse nodes, with maxUnauthenticated raised to ${count} (default 100) ` +
      '(per source address: the default 10); time from the agents\' start to every tunnel READY (the pool\'s connect gate does not apply to reverse). ' +
      `Forward: section 5's cold start (fake sshd nodes, maxConcurrentConnects ${POOL_DEFAULTS.maxConcurrentConnects}). ` +
      'Memory per tunnel: the pool process\'s RSS and JS heap after GC, ' +
      'all READY, minus before setNodes(), over the tunnel count.',
    tables: [
      {
        caption: `${count} tunnels from cold start, forward (pool dials fake sshd nodes) vs reverse (agents dial the pool's AgentServer):`,
        head: ['measure', 'forward', 'reverse', 'reverse vs forward'],
        rows: [row('all READY', ready, 's', 1), row('RSS per tunnel (after GC)', rss, 'KiB'), row('JS heap per tunnel', heap, 'KiB')],
      },
    ],
    notes: [
      `${count} agents at once: all READY in ${readyS.toFixed(1)} s — target <= 10 s: ${verdict(readyS <= 10)}`,
      `RSS per registered agent ${of(reverse, rss).median.toFixed(0)} KiB = ${rssRatio.toFixed(2)}x a forward tunnel's — target <= 1.5x: ${verdict(rssRatio <= 1.5)}`,
    ],
  };
}
