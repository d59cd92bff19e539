// Child process for the reverse scale benchmark: a fresh process holding only a pool of reverse nodes and
// the AgentServer attached to it, so its memory is theirs. Gets an AgentPoolRequest, answers { listening:
// port }, starts the clock on { go: true } (the parent sends it as the agents start) and answers with
// { result: AgentPoolResult } once every node is READY.
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { AgentServer } from '../../src/ssh/agent-server.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { settledMemory } from './memory.js';
import { agentName } from './spread-address.js';

export interface AgentPoolRequest {
  agents: number;
  /** The public key line every simulated agent authenticates with (listed in each node's agentKeys). */
  agentKey: string;
}

export interface AgentPoolResult {
  readyMs: number;
  rssBefore: number;
  rssReady: number;
  heapBefore: number;
  heapReady: number;
}

async function measure(req: AgentPoolRequest): Promise<AgentPoolResult> {
  const specs: NodeSpec[] = Array.from({ length: req.agents }, (_, i) => ({
    name: agentName(i), address: '127.0.0.1', aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {},
    tunnel: 'reverse', agentKeys: [req.agentKey],
  }));
  const pool = new TunnelPool({ user: 'egress', tunnel: 'reverse', healthCheck: { kind: 'ssh' } });
  const server = new AgentServer({
    hostKey: Buffer.from(generateEd25519().private),
    lookupNode: pool.agentNode,
    // Every agent connects at once: sshd's MaxStartups-like bound (default 100) must admit them all.
    // Each comes from its own address, so the per-source bound keeps its default.
    maxUnauthenticated: req.agents,
  });
  const before = await settledMemory();
  pool.setNodes(specs);
  pool.attachAgentServer(server);
  const { port } = await server.listen(0, '127.0.0.1');
  const go = new Promise<void>((resolve) => process.on('message', (msg: { go?: true }) => msg.go && resolve()));
  process.send?.({ listening: port });
  await go;
  const t0 = performance.now();
  await pool.ready({ timeoutMs: 60_000 });
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 500)); // late messages (the probes' channel closes) settle
  const ready = await settledMemory();
  await pool.close();
  await server.close();
  return { readyMs, rssBefore: before.rss, rssReady: ready.rss, heapBefore: before.heap, heapReady: ready.heap };
}

process.once('message', (req: AgentPoolRequest) => {
  measure(req).then(
    (result) => process.send?.({ result }, () => process.exit(0)),
    (err: Error) => process.send?.({ error: err.stack ?? err.message }, () => process.exit(1)),
  );
});
