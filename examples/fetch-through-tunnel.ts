/**
 * Plain fetch through the tunnels: an undici Agent whose `connect` is the dialer's connector, so each
 * connection is a stream through the node that owns the URL's host (pods by pod CIDR, ClusterIPs through
 * any ready node, kubelets and node ports by node name or address). TLS runs inside the stream.
 *
 *   node --conditions=source --import tsx examples/fetch-through-tunnel.ts
 *
 * runs it against the built-in simulated cluster. undici is a separate install (npm install undici); use
 * its own fetch with its Agent, as here, so the dispatcher and fetch come from one undici.
 */
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { Dialer, TunnelPool } from 'ssh-egress';
import { startSimulatedCluster } from 'ssh-egress/simulator';

async function main(): Promise<void> {
  const sim = await startSimulatedCluster({ nodes: 3 });
  const pool = new TunnelPool({ user: sim.user, identityFile: sim.identityFile, knownHostsFile: sim.knownHostsFile });
  try {
    pool.setNodes(sim.nodes);
    await pool.ready({ timeoutMs: 15_000 });
    const dialer = new Dialer(pool, { serviceCIDRs: sim.serviceCIDRs });
    // One Agent for every URL: `ca` verifies kubelets' certificates (plain http ignores it).
    const dispatcher = new Agent({ connect: dialer.undiciConnector({ ca: readFileSync(sim.kubeletCaFile) }) });

    for (const url of [
      `http://${sim.podIPs.n1?.[0] ?? '198.19.1.7'}:8080/whoami`, // a pod, through n1
      `http://${sim.clusterIP}:8080/whoami`, // a Service ClusterIP, through any ready node
      'https://n3:10250/healthz', // n3's kubelet, its certificate checked
    ]) {
      const response = await fetch(url, { dispatcher });
      console.log(`${url} -> ${response.status} ${(await response.text()).trim()}`);
    }
    await dispatcher.close();
  } finally {
    await pool.close();
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
