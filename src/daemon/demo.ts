import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { startSimulatedCluster, type SimulatedCluster } from '../simulator/index.js';

export interface DemoListeners {
  connect: string;
  socks: string;
  admin: string;
}

export const DEMO_LISTENERS: DemoListeners = { connect: '127.0.0.1:8131', socks: '127.0.0.1:1080', admin: '127.0.0.1:8132' };

export interface Demo {
  cluster: SimulatedCluster;
  /** A real config file for the daemon, in the cluster's directory: SIGHUP re-reads it. */
  configFile: string;
  stop(): Promise<void>;
}

/**
 * A simulated cluster (fake nodes on 127.0.1.x with a kubelet, pods and a service) and a daemon config for
 * it, so `npm start` shows the daemon working with no cluster at hand.
 */
export async function startDemo(listeners: DemoListeners = DEMO_LISTENERS): Promise<Demo> {
  const cluster = await startSimulatedCluster({ nodes: 3 });
  const dir = path.dirname(cluster.identityFile);
  const nodesFile = path.join(dir, 'nodes.yaml');
  const configFile = path.join(dir, 'ssh-egress.yaml');
  await writeFile(nodesFile, stringify({ nodes: cluster.nodes }));
  const config = {
    ssh: { user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile },
    healthCheck: { caFile: cluster.kubeletCaFile },
    inventory: { file: nodesFile },
    cluster: { serviceCIDRs: cluster.serviceCIDRs },
    listeners: {
      connect: { listen: listeners.connect, socket: { path: path.join(dir, 'egress.sock'), mode: '0600' } },
      socks: { listen: listeners.socks },
      admin: { listen: listeners.admin },
    },
    drain: { graceMs: 5000 },
    log: { level: 'info', format: 'text' },
  };
  await writeFile(configFile, `# Written by ssh-egress daemon --demo for the simulated cluster in this directory.\n${stringify(config)}`);
  return { cluster, configFile, stop: () => cluster.stop() };
}

/** Commands that work when pasted while the demo runs. `cli` is how this program was started. */
export function demoInstructions(demo: Demo, listeners: DemoListeners, cli: string): string {
  const { cluster } = demo;
  const [n1, n2] = cluster.nodes;
  const pod = cluster.podIPs[n1?.name ?? '']?.[0];
  const otherPod = cluster.podIPs[n2?.name ?? '']?.[0];
  return [
    '',
    `ssh-egress demo: ${cluster.nodes.map((n) => `${n.name} ${n.address}:${n.sshPort}`).join(', ')} (simulated nodes, SSH host keys verified)`,
    `config: ${demo.configFile}  (edit it, then: kill -HUP ${process.pid})`,
    '',
    'Try:',
    `  curl -p -x http://${listeners.connect} http://${pod}:8080/whoami                     # a pod through its node (HTTP CONNECT)`,
    `  curl -p -x http://${listeners.connect} --cacert ${cluster.kubeletCaFile} https://${n2?.name}:10250/healthz   # a kubelet, certificate verified`,
    `  curl --socks5-hostname ${listeners.socks} http://${cluster.clusterIP}:8080/whoami          # a service through any node (SOCKS5)`,
    `  curl --socks5-hostname ${listeners.socks} --cacert ${cluster.kubeletCaFile} https://${n2?.name}:10250/healthz   # a kubelet, certificate verified`,
    `  printf 'hello\\n' | ${cli} dial --config ${demo.configFile} ${otherPod}:7      # the CLI: stdin/stdout through a tunnel (echo)`,
    `  curl http://${listeners.admin}/status ; curl http://${listeners.admin}/metrics ; curl 'http://${listeners.admin}/readyz?verbose'`,
    '',
    'Ctrl-C drains and stops.',
    '',
  ].join('\n');
}
