/**
 * ssh-egress as a library: one verified SSH tunnel per node, and each stream routed through the node that
 * owns its destination.
 *
 *   npm run example                runs it against the built-in simulated cluster (3 fake nodes on loopback)
 *   npm run example -- --inventory nodes.yaml --user root --identity ~/.ssh/id_ed25519 \
 *     --known-hosts ~/.ssh/known_hosts --service-cidr 10.96.0.0/12 [--kubelet-ca ca.crt] [--pod 10.244.1.7:8080]
 *                                  runs it against a real cluster (nodes.yaml, or `kubectl get nodes -o json`)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Dialer, TunnelPool, createLogger, loadInventory, type DialTarget, type NodeSpec, type Resolution } from 'ssh-egress';
import { startSimulatedCluster } from 'ssh-egress/simulator';

const { values: args } = parseArgs({
  options: {
    inventory: { type: 'string' },
    user: { type: 'string' },
    identity: { type: 'string' },
    'known-hosts': { type: 'string' },
    'service-cidr': { type: 'string', multiple: true },
    'kubelet-ca': { type: 'string' },
    pod: { type: 'string', multiple: true },
    service: { type: 'string', multiple: true },
  },
});

interface Setup {
  nodes: NodeSpec[];
  user: string;
  identityFile: string;
  knownHostsFile: string;
  serviceCIDRs: string[];
  kubeletCa: Buffer | undefined;
  /** Extra targets to show besides each node's kubelet: pod and service addresses. */
  targets: string[];
  stop: () => Promise<void>;
}

async function setUp(): Promise<Setup> {
  if (args.inventory) {
    if (!args.user || !args.identity || !args['known-hosts']) {
      throw new Error('with --inventory, also give --user, --identity and --known-hosts');
    }
    return {
      nodes: await loadInventory(args.inventory),
      user: args.user,
      identityFile: args.identity,
      knownHostsFile: args['known-hosts'],
      serviceCIDRs: args['service-cidr'] ?? [],
      kubeletCa: args['kubelet-ca'] ? readFileSync(args['kubelet-ca']) : undefined,
      targets: [...(args.pod ?? []), ...(args.service ?? [])],
      stop: async () => undefined,
    };
  }
  console.log('No --inventory given: starting the built-in simulated cluster (fake nodes on 127.0.1.x).\n');
  const sim = await startSimulatedCluster({ nodes: 3 });
  return {
    nodes: sim.nodes,
    user: sim.user,
    identityFile: sim.identityFile,
    knownHostsFile: sim.knownHostsFile,
    serviceCIDRs: sim.serviceCIDRs,
    kubeletCa: readFileSync(sim.kubeletCaFile),
    targets: [
      ...Object.values(sim.podIPs).map((ips) => `${ips[0]}:8080`),
      `${sim.clusterIP}:8080`,
      `${sim.clusterIP}:8080`,
      `${sim.clusterIP}:8080`,
    ],
    stop: () => sim.stop(),
  };
}

/** Sends one HTTP request over an open stream and returns the status line and body. */
async function httpGet(dialer: Dialer, target: DialTarget, path: string, tls?: { ca?: Buffer }) {
  const https = tls !== undefined;
  const agent = https ? dialer.httpsAgent({ ca: tls.ca, keepAlive: false }) : dialer.httpAgent({ keepAlive: false });
  const resolution = dialer.resolve(target);
  const url = `${https ? 'https' : 'http'}://${resolution.host.includes(':') ? `[${resolution.host}]` : resolution.host}:${resolution.port}${path}`;
  const started = performance.now();
  try {
    const response = await fetchWithAgent(url, agent);
    return { ...response, ms: performance.now() - started, resolution };
  } catch (err) {
    // Node's HTTP parser says only "Parse Error: Expected HTTP/": name the target that did not speak HTTP.
    throw new Error(`GET ${url} failed (is it an HTTP server?): ${(err as Error).message}`, { cause: err });
  } finally {
    agent.destroy();
  }
}

async function fetchWithAgent(url: string, agent: import('node:http').Agent) {
  const client = url.startsWith('https:') ? await import('node:https') : await import('node:http');
  return new Promise<{ status: number; body: string; node: string }>((resolve, reject) => {
    const req = client.get(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body.trim(), node: (req.socket as { node?: string } | null)?.node ?? '' }));
    });
    req.on('error', reject);
  });
}

function describeRoute(resolution: Resolution): string {
  return resolution.via === 'node' ? `node ${resolution.node}` : 'any ready node';
}

async function main(): Promise<void> {
  const setup = await setUp();
  const logger = createLogger({ level: process.env.SSH_EGRESS_LOG_LEVEL ?? 'warn', format: 'text' });
  const pool = new TunnelPool({
    user: setup.user,
    identityFile: setup.identityFile,
    knownHostsFile: setup.knownHostsFile,
    logger,
  });
  try {
    pool.setNodes(setup.nodes);
    await pool.ready({ timeoutMs: 15_000 });
    console.log('Tunnels:');
    for (const s of pool.status()) console.log(`  ${s.node.padEnd(6)} ${s.state.padEnd(6)} ${s.address}:${s.sshPort}  host key ${s.hostKeyFingerprint}`);

    const dialer = new Dialer(pool, { serviceCIDRs: setup.serviceCIDRs, logger });
    console.log('\nStreams (target -> route -> node that carried it):');
    for (const node of setup.nodes) {
      const r = await httpGet(dialer, { kind: 'kubelet', node: node.name }, '/healthz', { ca: setup.kubeletCa });
      console.log(`  kubelet of ${node.name.padEnd(18)} ${r.resolution.reason.padEnd(8)} via ${describeRoute(r.resolution)}: HTTPS ${r.status} "${r.body}", certificate verified (${r.ms.toFixed(1)} ms)`);
    }
    for (const target of setup.targets) {
      const r = await httpGet(dialer, target, '/whoami');
      console.log(`  ${target.padEnd(29)} ${r.resolution.reason.padEnd(8)} via ${describeRoute(r.resolution)}, carried by ${r.node}: HTTP ${r.status} ${r.body} (${r.ms.toFixed(1)} ms)`);
    }
    try {
      await dialer.dial('192.0.2.1:443');
    } catch (err) {
      console.log(`  192.0.2.1:443                 refused: ${(err as Error).message}`);
    }
  } finally {
    await pool.close();
    await setup.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
