// Child process for the scale benchmark: a fresh process holding only the pool, so its RSS is the pool's.
// Gets a ScaleRequest over IPC and answers with ScaleResult.
import { Dialer } from '../../src/dialer/dialer.js';
import { DEFAULT_KUBELET_PORT, type NodeSpec } from '../../src/nodes/node-spec.js';
import type { HealthCheckOptions } from '../../src/tunnel/health-check-options.js';
import { POOL_DEFAULTS } from '../../src/tunnel/pool-options.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { selfCpuMs, treeCpuMs } from './cpu.js';
import { rss, rssPeak, settledMemory } from './memory.js';
import type { NodeAddress } from './fake-nodes-main.js';
import { PING } from './traffic.js';

export interface ScaleRequest {
  nodes: NodeAddress[];
  user: string;
  identityFile: string;
  knownHostsFile: string;
  streams: number;
  maxConcurrentConnects?: number;
  /** Default kind "ssh" (keepalive only). */
  healthCheck?: HealthCheckOptions;
  /** The pool's default (15 s) unless given; 0 turns keepalive off. */
  keepaliveIntervalMs?: number;
  /** The fake nodes' processes, whose CPU time is read from /proc at the same instants as the pool's own. */
  nodesPids?: number[];
  /** After all READY, how long to sit idle measuring CPU (keepalives, health probes); default none. */
  idleMs?: number;
}

/** CPU milliseconds (user + system) of the pool process and of the fake nodes' processes over one phase. */
export interface CpuSplit {
  poolMs: number;
  nodesMs: number;
}

export interface ScaleResult {
  readyMs: number;
  rssBefore: number;
  rssReady: number;
  heapBefore: number;
  heapReady: number;
  coldStartCpu: CpuSplit;
  idleCpu: CpuSplit | undefined;
  /** Tunnels whose last health probe failed, at the end of the idle window. */
  probesFailing: number;
  streamsOpenMs: number;
  streamsCpu: CpuSplit;
  rssStreamsPeak: number;
  rssStreamsOpen: number;
  heapStreamsOpen: number;
  streamErrors: number;
  firstError: string | undefined;
}

/** Starts a CPU-time measurement of this process and `nodesPids`; the returned function ends it. */
function cpuSplit(nodesPids: readonly number[]): () => CpuSplit {
  const nodesCpu = (): number => nodesPids.reduce((sum, pid) => sum + treeCpuMs(pid), 0);
  const pool0 = selfCpuMs();
  const nodes0 = nodesCpu();
  return () => ({ poolMs: selfCpuMs() - pool0, nodesMs: nodesCpu() - nodes0 });
}

async function measure(req: ScaleRequest): Promise<ScaleResult> {
  const specs: NodeSpec[] = req.nodes.map((n) => ({
    name: n.name, address: n.address, aliases: [], sshPort: n.port, kubeletPort: DEFAULT_KUBELET_PORT, podCIDRs: [], hostKeyFingerprints: [], labels: {},
  }));
  const pool = new TunnelPool({
    user: req.user,
    identityFile: req.identityFile,
    knownHostsFile: req.knownHostsFile,
    healthCheck: req.healthCheck ?? { kind: 'ssh' },
    // Every stream is dialled in one burst: the pool-wide bound on pending dials (default 10,000) must take it.
    maxPendingDials: Math.max(req.streams, POOL_DEFAULTS.maxPendingDials),
    ...(req.maxConcurrentConnects && { maxConcurrentConnects: req.maxConcurrentConnects }),
    ...(req.keepaliveIntervalMs !== undefined && { keepaliveIntervalMs: req.keepaliveIntervalMs }),
  });
  const dialer = new Dialer(pool, { allowedCIDRs: ['127.0.0.1/32'] });
  const nodesPids = req.nodesPids ?? [];
  const { rss: rssBefore, heap: heapBefore } = await settledMemory();
  const coldStart = cpuSplit(nodesPids);
  const t0 = performance.now();
  pool.setNodes(specs);
  await pool.ready({ timeoutMs: 120_000 });
  const readyMs = performance.now() - t0;
  const coldStartCpu = coldStart();
  await new Promise((r) => setTimeout(r, 500)); // late post-auth messages (host keys) settle
  const { rss: rssReady, heap: heapReady } = await settledMemory();
  let idleCpu: CpuSplit | undefined;
  if (req.idleMs) {
    const idle = cpuSplit(nodesPids);
    await new Promise((r) => setTimeout(r, req.idleMs));
    idleCpu = idle();
  }
  const probesFailing = pool.status().filter((s) => s.health?.lastProbeError !== undefined).length;

  // Streams: round-robin over the nodes, all open at once, each echoing one ping. The fake nodes answer
  // every channel with an in-memory echo, whatever the destination: nothing is dialled for real.
  const peak = rssPeak();
  const streamsCpuSplit = cpuSplit(nodesPids);
  const t1 = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: req.streams }, async (_, i) => {
      const sock = await dialer.dial('127.0.0.1:7', { via: specs[i % specs.length]!.name, timeoutMs: 60_000 });
      await new Promise<void>((resolve, reject) => {
        sock.once('data', () => resolve());
        sock.once('error', reject);
        sock.write(PING);
      });
      return sock;
    }),
  );
  const streamsOpenMs = performance.now() - t1;
  const streamsCpu = streamsCpuSplit();
  const rssStreamsOpen = rss();
  const rssStreamsPeak = peak.stop();
  const { heap: heapStreamsOpen } = req.streams > 0 ? await settledMemory() : { heap: heapReady };
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of results) if (r.status === 'fulfilled') r.value.destroy();
  await pool.close();
  return {
    readyMs, rssBefore, rssReady, heapBefore, heapReady, coldStartCpu, idleCpu, probesFailing, streamsOpenMs, streamsCpu, rssStreamsPeak, rssStreamsOpen,
    heapStreamsOpen,
    streamErrors: failures.length,
    firstError: failures[0] ? String((failures[0].reason as Error).message) : undefined,
  };
}

process.once('message', (req: ScaleRequest) => {
  measure(req).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (err: Error) => process.send?.({ error: err.stack ?? err.message }, () => process.exit(1)),
  );
});
