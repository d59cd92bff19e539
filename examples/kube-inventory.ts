/**
 * The node inventory, live from the Kubernetes API: list, then watch Nodes; every change of the node set
 * goes to pool.setNodes, which connects new nodes, drains removed ones and leaves the rest connected.
 * Service CIDRs come from ServiceCIDR objects where the cluster has them (Kubernetes 1.33+).
 *
 *   node --conditions=source --import tsx examples/kube-inventory.ts --kubeconfig ~/.kube/config \
 *     --identity ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts [--user root] [--context NAME] \
 *     [--selector node-role.kubernetes.io/worker] [--ready-only] [--ssh-port 22]
 *
 * Needs a cluster whose nodes run sshd; prints the node set and tunnel states until Ctrl-C. RBAC for the
 * kubeconfig's user: get, list and watch on nodes (and on servicecidrs.networking.k8s.io for discovery).
 */
import { parseArgs } from 'node:util';
import { Dialer, KubeInventory, ServiceCidrDiscovery, TunnelPool, createLogger, loadKubeConfig } from 'ssh-egress';

const { values: args } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    selector: { type: 'string' },
    'ready-only': { type: 'boolean' },
    'ssh-port': { type: 'string' },
    user: { type: 'string', default: 'root' },
    identity: { type: 'string' },
    'known-hosts': { type: 'string' },
  },
});

async function main(): Promise<void> {
  if (!args.identity || !args['known-hosts']) throw new Error('give --identity and --known-hosts (and --kubeconfig unless $KUBECONFIG or ~/.kube/config will do)');
  const logger = createLogger({ level: 'info', format: 'text' });
  const kubeConfig = await loadKubeConfig({ kubeconfig: args.kubeconfig, context: args.context });
  const pool = new TunnelPool({ user: args.user ?? 'root', identityFile: args.identity, knownHostsFile: args['known-hosts'], logger });
  const dialer = new Dialer(pool, { logger });
  const inventory = new KubeInventory({
    kubeConfig,
    labelSelector: args.selector,
    readyOnly: args['ready-only'],
    sshPort: args['ssh-port'] === undefined ? undefined : Number(args['ssh-port']),
    logger,
    onNodes: (nodes) => {
      pool.setNodes(nodes);
      console.log(`node set: ${nodes.map((n) => `${n.name}@${n.address}`).join(', ') || '(none)'}`);
    },
  }).start();
  // Discovered ranges go to the dialer; configured ones would be merged in here as well.
  const serviceCidrs = new ServiceCidrDiscovery({
    kubeConfig,
    logger,
    onServiceCIDRs: (cidrs) => dialer.reconfigure({ serviceCIDRs: cidrs ?? [] }),
  }).start();
  pool.on('stateChange', (change) => console.log(`${change.node}: ${change.from} -> ${change.to}`));

  await inventory.synced;
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await Promise.all([inventory.stop(), serviceCidrs.stop()]);
  await pool.close();
}

main().catch((err: unknown) => {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
