// Child process for the scale benchmark: a fresh process holding only the pool, so its RSS is the pool's.
// Gets { nodes, identityFile, knownHostsFile, streams, maxConcurrentConnects } over IPC and answers with ScaleResult.
import { Dialer } from '../../src/dialer/dialer.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
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
}

export interface ScaleResult {
  readyMs: number;
  rssBefore: number;
  rssReady: number;
  heapBefore: number;
  heapReady: number;
  streamsOpenMs: number;
  rssStreamsPeak: number;
  rssStreamsOpen: number;
  streamErrors: number;
  firstError: string | undefined;
}

async function measure(req: ScaleRequest): Promise<ScaleResult> {
  const specs: NodeSpec[] = req.nodes.map((n) => ({
    name: n.name, address: n.address, aliases: [], sshPort: n.port, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {},
  }));
  const pool = new TunnelPool({
    user: req.user,
    identityFile: req.identityFile,
    knownHostsFile: req.knownHostsFile,
    healthCheck: { kind: 'ssh' },
    ...(req.maxConcurrentConnects && { maxConcurrentConnects: req.maxConcurrentConnects }),
  });
  const dialer = new Dialer(pool, { allowedCIDRs: ['127.0.0.1/32'] });
  const { rss: rssBefore, heap: heapBefore } = await settledMemory();
  const t0 = performance.now();
  pool.setNodes(specs);
  await pool.ready({ timeoutMs: 120_000 });
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // late post-auth messages (host keys) settle
  const { rss: rssReady, heap: heapReady } = await settledMemory();

  // Streams: round-robin over the nodes, all open at once, each echoing one ping. The fake nodes answer
  // every channel with an in-memory echo, whatever the destination: nothing is dialled for real.
  const peak = rssPeak();
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
  const rssStreamsOpen = rss();
  const rssStreamsPeak = peak.stop();
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  for (const r of results) if (r.status === 'fulfilled') r.value.destroy();
  await pool.close();
  return {
    readyMs, rssBefore, rssReady, heapBefore, heapReady, streamsOpenMs, rssStreamsPeak, rssStreamsOpen,
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
