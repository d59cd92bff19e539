/**
 * @kubernetes/client-node through the tunnels: withEgress(kubeConfig, dialer) makes every request the
 * KubeConfig configures (generated API clients, Watch, Log, Health, exec/attach/port-forward) dial through
 * the node that owns the server's address. Useful for a server only the nodes can reach: a kubelet, a pod,
 * a Service's ClusterIP. Works with client-node 1.x (node-fetch agents) and 2.x (undici dispatchers).
 *
 *   node --conditions=source --import tsx examples/kube-client.ts
 *
 * runs it against the built-in simulated cluster (3 fake nodes on loopback). In a real cluster the same
 * lines apply to a kubeconfig whose server is, for example, the `kubernetes` Service (https://10.96.0.1,
 * with the cluster CA and a service-account token) or a kubelet (https://node-a:10250, with the API
 * server's kubelet client certificate), with `serviceCIDRs` covering the ClusterIP.
 */
import { readFileSync } from 'node:fs';
import { CoreV1Api, Health, HttpMethod, IsomorphicFetchHttpLibrary, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { Dialer, TunnelPool, withEgress } from 'ssh-egress';
import { startSimulatedCluster } from 'ssh-egress/simulator';

/** A KubeConfig for one server, as a kubeconfig file would give it. */
function kubeConfigFor(server: string, ca?: Buffer): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'target', server, ...(ca ? { caData: ca.toString('base64') } : { skipTLSVerify: true }) }],
    users: [{ name: 'anonymous' }],
    contexts: [{ name: 'target', cluster: 'target', user: 'anonymous' }],
    currentContext: 'target',
  });
  return kc;
}

async function main(): Promise<void> {
  const sim = await startSimulatedCluster({ nodes: 3 });
  const pool = new TunnelPool({ user: sim.user, identityFile: sim.identityFile, knownHostsFile: sim.knownHostsFile });
  try {
    pool.setNodes(sim.nodes);
    await pool.ready({ timeoutMs: 15_000 });
    const dialer = new Dialer(pool, { serviceCIDRs: sim.serviceCIDRs });

    // A pod's plain-HTTP server. client-node refuses http:// unless the cluster entry has skipTLSVerify.
    const podIP = sim.podIPs.n2?.[0] ?? '198.19.2.7';
    const pod = withEgress(kubeConfigFor(`http://${podIP}:8080`), dialer);

    // client-node's own request path, as its generated API clients use it: authentication, then the
    // HTTP library, with the agent withEgress put on the request.
    const request = new RequestContext(`${pod.getCurrentCluster()?.server}/whoami`, HttpMethod.GET);
    await pod.applySecurityAuthentication(request);
    const response = await new IsomorphicFetchHttpLibrary().send(request).toPromise();
    console.log(`pod ${podIP}: HTTP ${response.httpStatusCode} ${await response.body.text()}`);

    // A generated API client: the pod is no API server, so it answers 404 (ApiException), through the tunnel.
    await pod
      .makeApiClient(CoreV1Api)
      .listNode()
      .catch((err: { code?: number }) => console.log(`pod ${podIP}: CoreV1Api.listNode -> HTTP ${err.code} (no API server there, but reached)`));

    // A kubelet over HTTPS, its certificate checked against the cluster CA, by node name. Health.readyz
    // falls back to /healthz, which is what a kubelet serves.
    const kubelet = withEgress(kubeConfigFor('https://n1:10250', readFileSync(sim.kubeletCaFile)), dialer);
    console.log(`kubelet of n1: ${(await new Health(kubelet).readyz({})) ? 'healthy' : 'failing'}`);
  } finally {
    await pool.close();
    await sim.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
