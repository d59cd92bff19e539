// Common ground of the reverse-tunnel system tests: an agent key for the node behind NAT, and a real
// `ssh-egress daemon` whose inventory gives that node `tunnel: reverse` (the others stay forward) and
// which listens for agents on a control-plane address.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { DaemonProcess } from './daemon-process.js';
import { sshKeygen } from './sshd.js';
import type { Topology, TopologyNode } from './topology.js';

export interface AgentKey {
  privateFile: string;
  publicLine: string;
}

export async function createAgentKey(dir: string, name: string): Promise<AgentKey> {
  mkdirSync(dir, { recursive: true });
  const privateFile = join(dir, `${name}_agent_key`);
  return { privateFile, publicLine: await sshKeygen(privateFile, `${name} agent`) };
}

export interface ReverseDaemonOptions {
  dir: string;
  /** Names this replica's files. */
  name: string;
  reverseNode: TopologyNode;
  agentKeys: string[];
  agentListen: { host: string; port: number };
  /** host:port of the admin, HTTP CONNECT and SOCKS5 listeners (loopback). */
  admin: string;
  connect: string;
  socks: string;
}

/** Options for one replica whose admin, HTTP CONNECT and SOCKS5 listeners take loopback ports portBase..+2. */
export function replicaOptions(o: { dir: string; name: string; reverseNode: TopologyNode; agentKey: AgentKey; agentListen: { host: string; port: number }; portBase: number }): ReverseDaemonOptions {
  const { agentKey, portBase, ...rest } = o;
  return {
    ...rest,
    agentKeys: [agentKey.publicLine],
    admin: `127.0.0.1:${portBase}`,
    connect: `127.0.0.1:${portBase + 1}`,
    socks: `127.0.0.1:${portBase + 2}`,
  };
}

export interface ReverseDaemon {
  daemon: DaemonProcess;
  /** `[host]:port key`, as the daemon logged it for nodes' known_hosts. */
  knownHostsLine: string;
  options: ReverseDaemonOptions;
}

/** Starts the daemon and waits for its agent listener and its forward tunnels. Keepalive is 1 s x 3. */
export async function startReverseDaemon(t: Topology, o: ReverseDaemonOptions): Promise<ReverseDaemon> {
  const inventoryFile = join(o.dir, `${o.name}-nodes.yaml`);
  const configFile = join(o.dir, `${o.name}.yaml`);
  const nodes = t.nodes.map((n) => ({
    name: n.name,
    address: n.address,
    podCIDRs: [n.podCIDR],
    ...(n.name === o.reverseNode.name && { tunnel: 'reverse', agentKeys: o.agentKeys }),
  }));
  writeFileSync(inventoryFile, stringify({ nodes }));
  writeFileSync(
    configFile,
    stringify({
      ssh: { user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile, keepaliveIntervalMs: 1_000, keepaliveCountMax: 3 },
      healthCheck: { caFile: t.kubeletCaFile },
      inventory: { file: inventoryFile },
      cluster: { serviceCIDRs: [t.serviceCIDR] },
      // Far above anything the tests wait for, so a prompt failure is the tunnel's doing, not a timeout.
      dial: { timeoutMs: 30_000 },
      listeners: { connect: { listen: o.connect }, socks: { listen: o.socks }, admin: { listen: o.admin } },
      log: { level: 'info', format: 'json' },
    }),
  );
  const hostKeyFile = join(o.dir, `${o.name}_agent_host_key`);
  const agentListen = `${o.agentListen.host}:${o.agentListen.port}`;
  const daemon = new DaemonProcess(['--config', configFile, '--agent-listen', agentListen, '--agent-host-key', hostKeyFile], o.admin);
  try {
    await daemon.waitUntil('the agent listener', () => daemon.logEntries('agent listener ready').length > 0);
    const forward = t.nodes.filter((n) => n.name !== o.reverseNode.name).map((n) => n.name);
    for (const node of forward) await nodeState(daemon, node, 'READY');
  } catch (err) {
    daemon.kill();
    throw err;
  }
  return { daemon, knownHostsLine: String(daemon.logEntries('agent listener ready')[0]?.knownHostsLine), options: o };
}

export interface TunnelStatusEntry {
  node: string;
  state: string;
  direction?: string;
  agent?: { remoteAddress: string; remotePort: number };
  [field: string]: unknown;
}

export async function daemonStatus(daemon: DaemonProcess): Promise<{ tunnels: TunnelStatusEntry[]; nodesWithoutTunnel: unknown[] }> {
  return JSON.parse((await daemon.get('/status')).body);
}

export const statusOf = (node: string, status: { tunnels: TunnelStatusEntry[] }): TunnelStatusEntry | undefined => status.tunnels.find((s) => s.node === node);
const stateOf = (s: TunnelStatusEntry | undefined): string | undefined => s?.state;

/** Waits for the node's tunnel on this daemon to reach `state`. */
export function nodeState(daemon: DaemonProcess, node: string, state: string, timeoutMs = 20_000): Promise<void> {
  return daemon.waitUntil(`${node} ${state}`, async () => stateOf(statusOf(node, await daemonStatus(daemon))) === state, timeoutMs);
}
