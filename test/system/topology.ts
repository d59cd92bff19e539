// The real-sshd system-test topology: a control-plane namespace with a bridge, one namespace per node
// (sshd on :22, kubelet stand-in, node/pod/ClusterIP services), all in 198.18.0.0/15, no default routes.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { NodeServicesArgs } from './fixtures/node-services.js';
import { deleteNamespace, exec, ipBatch, isAlive, listNamespaces, namespacePids, processName, run, signal, waitFor } from './netns.js';
import type { ExecResult } from './netns.js';
export type { ExecResult };
import { fingerprint, readSshdPid, sshdFiles, sshKeygen, startSshdIn, writeSshdConfig } from './sshd.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';

export const PORTS = { ssh: 22, kubelet: 10250, nodeHttp: 9100, podHttp: 8080, echo: 7 } as const;

export interface TopologyNode {
  name: string; // "n1"
  namespace: string; // "se<id>-n1"
  address: string; // "198.18.0.11"
  podCIDR: string; // "198.19.1.0/24"
  podIPs: string[]; // ["198.19.1.7", "198.19.1.8"]
  hostKeyFingerprint: string; // "SHA256:..."
  hostPublicKey: string; // "ssh-ed25519 AAAA..."
  sshdConfigFile: string;
  sshdPidFile: string;
  sshdLogFile: string;
  servicesLogFile: string;
}

export interface Topology {
  id: string;
  dir: string;
  cpNamespace: string;
  cpAddress: string; // the control plane's address on the bridge
  user: string;
  identityFile: string;
  knownHostsFile: string;
  kubeletCaFile: string;
  serviceCIDR: string;
  clusterIP: string;
  inventoryFile: string;
  ports: typeof PORTS;
  nodes: TopologyNode[];
}

export type NodeRef = string | TopologyNode;

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVICES_ENTRY = fileURLToPath(new URL('./fixtures/node-services.ts', import.meta.url));
const NAMESPACE_RE = /^se([a-z0-9]{1,8})-(cp|n\d+)$/;
const DIR_RE = /^ssh-egress-se([a-z0-9]{1,8})$/;

const topologyDir = (id: string): string => join(tmpdir(), `ssh-egress-se${id}`);

function plan(id: string, nodeCount: number): Topology {
  const dir = topologyDir(id);
  const nodes = Array.from({ length: nodeCount }, (_, i): TopologyNode => {
    const k = i + 1;
    const nodeDir = join(dir, `n${k}`);
    return {
      name: `n${k}`,
      namespace: `se${id}-n${k}`,
      address: `198.18.0.${10 + k}`,
      podCIDR: `198.19.${k}.0/24`,
      podIPs: [`198.19.${k}.7`, `198.19.${k}.8`],
      hostKeyFingerprint: '',
      hostPublicKey: '',
      sshdConfigFile: join(nodeDir, 'sshd_config'),
      sshdPidFile: join(nodeDir, 'sshd.pid'),
      sshdLogFile: join(nodeDir, 'sshd.log'),
      servicesLogFile: join(nodeDir, 'services.log'),
    };
  });
  return {
    id,
    dir,
    cpNamespace: `se${id}-cp`,
    cpAddress: '198.18.0.1',
    user: 'root',
    identityFile: join(dir, 'id_ed25519'),
    knownHostsFile: join(dir, 'known_hosts'),
    kubeletCaFile: join(dir, 'kubelet-ca.crt'),
    serviceCIDR: '198.19.240.0/20',
    clusterIP: '198.19.240.10',
    inventoryFile: join(dir, 'inventory.yaml'),
    ports: PORTS,
    nodes,
  };
}

const nodeDirOf = (n: TopologyNode): string => join(n.sshdConfigFile, '..');
const filesOf = (n: TopologyNode) => sshdFiles(nodeDirOf(n));

/** Owner = pid plus its start time, so a recycled pid does not keep a stale topology "alive". */
function ownerStamp(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return `${pid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}`;
  } catch {
    return undefined;
  }
}

async function buildNetwork(t: Topology): Promise<void> {
  await run('ip', ['-batch', '-'], [t.cpNamespace, ...t.nodes.map((n) => n.namespace)].map((ns) => `netns add ${ns}`).join('\n') + '\n');
  await ipBatch(t.cpNamespace, [
    'link set lo up',
    'link add br0 type bridge',
    `addr add ${t.cpAddress}/16 dev br0`,
    'link set br0 up',
  ]);
  for (const [i, n] of t.nodes.entries()) {
    // Pod IPs and the ClusterIP live on the node's loopback: reachable from the node, not from the cp.
    await ipBatch(n.namespace, [
      'link set lo up',
      ...[...n.podIPs, t.clusterIP].map((ip) => `addr add ${ip}/32 dev lo`),
      `link add eth0 type veth peer name vn${i + 1} netns ${t.cpNamespace}`,
      `addr add ${n.address}/16 dev eth0`,
      'link set eth0 up',
    ]);
  }
  await ipBatch(t.cpNamespace, t.nodes.flatMap((_, i) => [`link set vn${i + 1} master br0`, `link set vn${i + 1} up`]));
}

async function writeKeysAndCerts(t: Topology): Promise<void> {
  const clientPub = await sshKeygen(t.identityFile, `ssh-egress-system-test-${t.id}`);
  writeFileSync(join(t.dir, 'authorized_keys'), clientPub + '\n');
  const ca = await createClusterCa(`ssh-egress test kubelet CA ${t.id}`);
  writeFileSync(t.kubeletCaFile, ca.certPem);
  await Promise.all(
    t.nodes.map(async (n) => {
      const f = filesOf(n);
      writeSshdConfig(f, n.address, join(t.dir, 'authorized_keys'));
      const pub = await sshKeygen(f.hostKeyFile, n.name);
      n.hostPublicKey = pub.split(/\s+/).slice(0, 2).join(' ');
      n.hostKeyFingerprint = await fingerprint(`${f.hostKeyFile}.pub`);
      const leaf = await ca.issue({ commonName: n.name, dnsNames: [n.name], ips: [n.address] });
      writeFileSync(join(f.dir, 'kubelet.crt'), leaf.certPem);
      writeFileSync(join(f.dir, 'kubelet.key'), leaf.keyPem, { mode: 0o600 });
    }),
  );
  writeFileSync(t.knownHostsFile, t.nodes.map((n) => `${n.name},${n.address} ${n.hostPublicKey}\n`).join(''));
  const inventory = { nodes: t.nodes.map((n) => ({ name: n.name, address: n.address, podCIDRs: [n.podCIDR] })) };
  writeFileSync(t.inventoryFile, stringify(inventory));
}

/** Starts fixtures/node-services.ts in the node's namespace and waits for its READY line. */
async function startServices(t: Topology, n: TopologyNode): Promise<void> {
  const dir = nodeDirOf(n);
  const args: NodeServicesArgs = {
    node: n.name,
    nodeIP: n.address,
    podIPs: n.podIPs,
    clusterIP: t.clusterIP,
    certFile: join(dir, 'kubelet.crt'),
    keyFile: join(dir, 'kubelet.key'),
    ports: { kubelet: PORTS.kubelet, nodeHttp: PORTS.nodeHttp, podHttp: PORTS.podHttp, echo: PORTS.echo },
  };
  const logFd = openSync(n.servicesLogFile, 'a');
  const argv = ['netns', 'exec', n.namespace, process.execPath, '--import', 'tsx', SERVICES_ENTRY, JSON.stringify(args)];
  // cwd = repo root so `--import tsx` resolves; detached so terminal signals go to the runner, not here.
  const child = spawn('ip', argv, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', logFd] });
  closeSync(logFd);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node-services in ${n.namespace}: no READY in 30 s`)), 30_000);
      child.on('error', reject);
      child.on('exit', (code, sig) => reject(new Error(`node-services in ${n.namespace} exited with ${code ?? sig}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.startsWith('READY ')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- ${n.servicesLogFile} ---\n${readFileSync(n.servicesLogFile, 'utf8')}`);
  }
  child.removeAllListeners('exit');
  child.stdout?.destroy();
  child.unref();
}

/** Builds the whole topology; on any failure removes what it built and rethrows. */
export async function createTopology(opts: { nodes: number; id?: string }): Promise<Topology> {
  const id = opts.id ?? process.pid.toString(36);
  if (!/^[a-z0-9]{1,8}$/.test(id)) throw new Error(`topology id must match [a-z0-9]{1,8}, got "${id}"`);
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 200) throw new Error('nodes must be 1..200');
  if ((await listNamespaces()).some((ns) => ns.startsWith(`se${id}-`))) throw new Error(`topology ${id} already exists`);
  const t = plan(id, opts.nodes);
  rmSync(t.dir, { recursive: true, force: true });
  mkdirSync(t.dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(t.dir, 'owner'), ownerStamp(process.pid) ?? String(process.pid)); // before any namespace exists
  try {
    await buildNetwork(t);
    await writeKeysAndCerts(t);
    await Promise.all(t.nodes.flatMap((n) => [startSshdIn(n.namespace, filesOf(n)), startServices(t, n)]));
    return t;
  } catch (err) {
    await destroyTopology(t).catch(() => undefined);
    throw err;
  }
}

async function destroyById(id: string, opts: { keepDir?: boolean } = {}): Promise<void> {
  const mine = (await listNamespaces()).filter((ns) => NAMESPACE_RE.exec(ns)?.[1] === id);
  // Node namespaces first (their veth pairs go with them), then the control plane.
  await Promise.all(mine.filter((ns) => !ns.endsWith('-cp')).map(deleteNamespace));
  await Promise.all(mine.filter((ns) => ns.endsWith('-cp')).map(deleteNamespace));
  if (!opts.keepDir) rmSync(topologyDir(id), { recursive: true, force: true });
}

/** Kills every process in the topology's namespaces and deletes them. Idempotent; works on a partial build. */
export function destroyTopology(t: Pick<Topology, 'id'>, opts: { keepDir?: boolean } = {}): Promise<void> {
  return destroyById(t.id, opts);
}

/** Deletes `se*` topologies (namespaces and temp dirs) whose creating process is gone. Returns their ids. */
export async function removeStaleTopologies(): Promise<string[]> {
  const ids = new Set<string>();
  for (const ns of await listNamespaces()) {
    const id = NAMESPACE_RE.exec(ns)?.[1];
    if (id !== undefined) ids.add(id);
  }
  for (const entry of readdirSync(tmpdir())) {
    const id = DIR_RE.exec(entry)?.[1];
    if (id !== undefined) ids.add(id);
  }
  const removed: string[] = [];
  for (const id of ids) {
    let owner = '';
    try {
      owner = readFileSync(join(topologyDir(id), 'owner'), 'utf8').trim();
    } catch {
      // no owner file: nobody claims it
    }
    const pid = Number(owner.split(' ')[0]);
    if (owner !== '' && Number.isInteger(pid) && pid > 0 && ownerStamp(pid) === owner) continue;
    await destroyById(id);
    removed.push(id);
  }
  return removed;
}

/** For test files: the topology run.ts created, via SSH_EGRESS_TOPOLOGY. */
export function loadTopology(): Topology {
  const file = process.env.SSH_EGRESS_TOPOLOGY;
  if (!file) throw new Error('SSH_EGRESS_TOPOLOGY is not set: run system tests through `npm run test:system`');
  return JSON.parse(readFileSync(file, 'utf8')) as Topology;
}

// ---- fault helpers (usable from test files running inside the cp namespace) ----

export function nodeOf(t: Topology, ref: NodeRef): TopologyNode {
  const name = typeof ref === 'string' ? ref : ref.name;
  const n = t.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node "${name}" in topology ${t.id}`);
  return n;
}

/** The listening sshd's pid, or undefined when it is not running. */
export function sshdPid(t: Topology, node: NodeRef): number | undefined {
  return readSshdPid({ pidFile: nodeOf(t, node).sshdPidFile });
}

/**
 * Signals the listening sshd. Existing SSH sessions are separate sshd processes that survive the
 * listener's death (as on a real `systemctl stop ssh`); pass `sessions: true` to signal them too.
 * For SIGTERM/SIGKILL, resolves once the signalled processes are gone.
 */
export async function killSshd(t: Topology, node: NodeRef, sig: NodeJS.Signals = 'SIGTERM', opts: { sessions?: boolean } = {}): Promise<void> {
  const n = nodeOf(t, node);
  const listener = sshdPid(t, n);
  const pids = opts.sessions
    ? (await namespacePids(n.namespace)).filter((p) => processName(p)?.startsWith('sshd'))
    : listener !== undefined ? [listener] : [];
  for (const pid of pids) signal(pid, sig);
  if (sig === 'SIGTERM' || sig === 'SIGKILL') {
    await waitFor(`sshd on ${n.name} to exit`, () => pids.every((p) => !isAlive(p)), 5_000);
  }
}

/** (Re)starts the node's sshd with the same config and keys; resolves with its pid once it listens. */
export function startSshd(t: Topology, node: NodeRef): Promise<number> {
  const n = nodeOf(t, node);
  return startSshdIn(n.namespace, filesOf(n));
}

/** sshd processes per node ("n1:4242"): the same list before and after means the very same SSH connections. */
export async function sshdSessions(t: Topology, nodes: readonly TopologyNode[] = t.nodes): Promise<string[]> {
  const all = await Promise.all(
    nodes.map(async (n) => (await namespacePids(n.namespace)).filter((p) => processName(p)?.startsWith('sshd')).map((p) => `${n.name}:${p}`)),
  );
  return all.flat().sort();
}

/** Runs argv inside the node's namespace. */
export function nodeExec(t: Topology, node: NodeRef, argv: readonly string[]): Promise<ExecResult> {
  return exec('ip', ['netns', 'exec', nodeOf(t, node).namespace, ...argv]);
}
