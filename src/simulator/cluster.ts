import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ssh2 from 'ssh2';
import { parseCidr } from '../net/cidr.js';
import { DEFAULT_KUBELET_PORT, type NodeSpec } from '../nodes/node-spec.js';
import { createClusterCa, type TlsCredentials } from './cluster-pki.js';
import { FakeSshNode, type FakeNode } from './fake-node.js';
import { NodeServices } from './node-services.js';
import { routeFor } from './routes.js';
import { generateEd25519 } from './ssh-keys.js';

const { utils } = ssh2;

export interface SimulatedClusterOptions {
  /** Number of fake nodes, 1..254 (node k listens on 127.0.1.k); default 3. */
  nodes?: number;
  /** Where to write the client key, known_hosts and kubelet CA; default a fresh temp dir, removed by stop(). */
  dir?: string;
  /** Default '198.19.240.0/20'. */
  serviceCIDR?: string;
  /** The one simulated ClusterIP, reachable through every node; default '198.19.240.10'. */
  clusterIP?: string;
  /** sshd port of every node (each has its own IP); default 0, an ephemeral port per node. */
  sshPort?: number;
  /** How many entries `served` keeps (oldest dropped first) so a long demo does not grow forever; default 100000. */
  servedLimit?: number;
}

export interface ServedStream {
  node: string;
  destHost: string;
  destPort: number;
  /** Date.now() when the channel was confirmed. */
  at: number;
}

export interface SimulatedCluster {
  nodes: NodeSpec[];
  user: string;
  /** ed25519 client private key (OpenSSH format, mode 0600) that every node accepts; its public key is beside it (.pub). */
  identityFile: string;
  /** One `[127.0.1.k]:<port> ssh-ed25519 AAAA...` line per node (bare address on port 22). */
  knownHostsFile: string;
  /** PEM of the CA that signed every fake kubelet's serving certificate. */
  kubeletCaFile: string;
  serviceCIDRs: string[];
  clusterIP: string;
  /** Node name -> its pod IPs. */
  podIPs: Record<string, string[]>;
  /** Every forwarded stream a node served, in order. */
  served: ServedStream[];
  /** Fault-injection handle; throws for an unknown name. */
  node(name: string): FakeNode;
  /** Closes everything; idempotent. */
  stop(): Promise<void>;
}

const USER = 'egress';
const POD_HOSTS = [7, 8];

interface NodePlan {
  spec: NodeSpec;
  podIPs: string[];
}

function planNodes(count: number, sshPort: number, serviceCIDR: string, clusterIP: string): NodePlan[] {
  const services = parseCidr(serviceCIDR);
  if (services === undefined) throw new Error(`serviceCIDR ${serviceCIDR} is not a CIDR`);
  if (!services.contains(clusterIP)) throw new Error(`clusterIP ${clusterIP} is not inside serviceCIDR ${serviceCIDR}`);
  if (!Number.isInteger(count) || count < 1 || count > 254) throw new Error(`nodes must be 1..254, got ${count}`);

  const plans: NodePlan[] = [];
  for (let k = 1; k <= count; k++) {
    const podCIDR = `198.19.${k}.0/24`;
    // Pod and service ranges must not overlap, or routing by pod CIDR would be ambiguous.
    if (services.contains(`198.19.${k}.0`) || parseCidr(podCIDR)?.contains(clusterIP)) {
      throw new Error(`pod CIDR ${podCIDR} of node n${k} overlaps serviceCIDR ${serviceCIDR}; use fewer nodes`);
    }
    plans.push({
      spec: {
        name: `n${k}`,
        address: `127.0.1.${k}`,
        aliases: [`n${k}.sim.internal`],
        sshPort,
        kubeletPort: DEFAULT_KUBELET_PORT,
        podCIDRs: [podCIDR],
        hostKeyFingerprints: [],
        labels: {},
      },
      podIPs: POD_HOSTS.map((host) => `198.19.${k}.${host}`),
    });
  }
  return plans;
}

function knownHostsLine(spec: NodeSpec, hostKey: string): string {
  const parsed = utils.parseKey(hostKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error) throw new Error('cannot parse generated host key');
  const host = spec.sshPort === 22 ? spec.address : `[${spec.address}]:${spec.sshPort}`;
  return `${host} ${key.type} ${key.getPublicSSH().toString('base64')}`;
}

async function issueKubeletCerts(plans: NodePlan[]): Promise<{ caPem: string; creds: Map<string, TlsCredentials> }> {
  const ca = await createClusterCa();
  const issued = await Promise.all(
    plans.map(({ spec }) =>
      ca.issue({ commonName: `kubelet-${spec.name}`, ips: [spec.address], dnsNames: [spec.name, ...spec.aliases] }),
    ),
  );
  const creds = new Map<string, TlsCredentials>();
  plans.forEach(({ spec }, i) => creds.set(spec.name, issued[i] as TlsCredentials));
  return { caPem: ca.certPem, creds };
}

/** Starts N fake nodes on 127.0.1.1..N and the loopback services behind them. */
export async function startSimulatedCluster(options: SimulatedClusterOptions = {}): Promise<SimulatedCluster> {
  const serviceCIDR = options.serviceCIDR ?? '198.19.240.0/20';
  const clusterIP = options.clusterIP ?? '198.19.240.10';
  const servedLimit = options.servedLimit ?? 100_000;
  const plans = planNodes(options.nodes ?? 3, options.sshPort ?? 0, serviceCIDR, clusterIP);

  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(tmpdir(), 'ssh-egress-sim-')));
  await mkdir(dir, { recursive: true });

  const clientKey = generateEd25519(`${USER}@ssh-egress-simulator`);
  const hostKeys = plans.map(() => generateEd25519().private);
  const { caPem, creds } = await issueKubeletCerts(plans);

  const served: ServedStream[] = [];
  const fakeNodes = new Map<string, FakeSshNode>();
  let services: NodeServices | undefined;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await Promise.all([...fakeNodes.values()].map((n) => n.stop()));
      await services?.close();
      if (ownDir) await rm(dir, { recursive: true, force: true });
    })());

  try {
    const svc = (services = await NodeServices.start(creds));
    for (const [i, { spec, podIPs }] of plans.entries()) {
      const view = { selfNames: [spec.address, spec.name, ...spec.aliases], kubeletPort: spec.kubeletPort, podIPs, clusterIP };
      const node = new FakeSshNode({
        name: spec.name,
        address: spec.address,
        port: spec.sshPort,
        hostKey: hostKeys[i] as string,
        user: USER,
        authorizedKey: clientKey.public,
        async openStream(destHost, destPort) {
          const kind = routeFor(view, destHost, destPort);
          return kind && svc.connect(kind, { node: spec.name, addr: destHost, port: destPort });
        },
        setKubeletHealthy(healthy) {
          svc.setKubeletHealthy(spec.name, healthy);
        },
        onServed(destHost, destPort) {
          if (served.length >= servedLimit) served.splice(0, Math.max(1, Math.floor(servedLimit / 10)));
          served.push({ node: spec.name, destHost, destPort, at: Date.now() });
        },
      });
      fakeNodes.set(spec.name, node);
    }
    await Promise.all([...fakeNodes.values()].map((n) => n.start()));
    for (const { spec } of plans) spec.sshPort = (fakeNodes.get(spec.name) as FakeSshNode).listenPort;

    const identityFile = path.join(dir, 'id_ed25519');
    const knownHostsFile = path.join(dir, 'known_hosts');
    const kubeletCaFile = path.join(dir, 'kubelet-ca.crt');
    await writeFile(identityFile, clientKey.private, { mode: 0o600 });
    await chmod(identityFile, 0o600); // mode only applies when the file is created; a given dir may hold an old one
    await writeFile(`${identityFile}.pub`, `${clientKey.public}\n`);
    await writeFile(knownHostsFile, plans.map((p, i) => knownHostsLine(p.spec, hostKeys[i] as string)).join('\n') + '\n');
    await writeFile(kubeletCaFile, caPem);

    return {
      nodes: plans.map((p) => p.spec),
      user: USER,
      identityFile,
      knownHostsFile,
      kubeletCaFile,
      serviceCIDRs: [serviceCIDR],
      clusterIP,
      podIPs: Object.fromEntries(plans.map((p) => [p.spec.name, p.podIPs])),
      served,
      node(name: string): FakeNode {
        const node = fakeNodes.get(name);
        if (node === undefined) throw new Error(`no simulated node named ${name}`);
        return node;
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
