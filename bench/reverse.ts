// 7. Reverse tunnels: the same node through a reverse tunnel (its agent dials our AgentServer; stock OpenSSH
// `ssh -N -R 0`, and `ssh-egress agent`) vs a forward one (we dial its sshd): one-stream throughput both ways
// and dial to first byte; then 1,000 simulated agents registering at once (bench/lib/agent-scale.ts).
import type { Benchmark, BenchOptions, Env } from './lib/context.js';
import { scaled } from './lib/context.js';
import { startReversePool } from './lib/agent-listener.js';
import { agentsAtOnce } from './lib/agent-scale.js';
import { selfCpuMs, treeCpuMs } from './lib/cpu.js';
import { startPool, type BenchPool } from './lib/pool.js';
import { fmt, ratio, verdict, type Table } from './lib/report.js';
import { figure, mbps, MiB, percentile, type Figure } from './lib/stats.js';
import { firstByte, transfer, type Direction } from './lib/traffic.js';

interface Path {
  name: string;
  label: string;
  pool: BenchPool;
  /** The process at the node's end of the SSH connection: sshd (forward) or the agent (reverse). */
  nodePid: number;
  nodeProcess: string;
}

/** Dial-to-first-byte samples per path and run. */
const DIALS = 1000;

async function openPaths(env: Env): Promise<Path[]> {
  const node = env.nodes[0]!;
  const paths: Path[] = [];
  try {
    paths.push({ name: 'forward', label: 'forward (we dial sshd)', pool: await startPool(env.keys, [node.spec]), nodePid: node.process.pid as number, nodeProcess: 'sshd' });
    const openssh = await startReversePool(env.keys, node, 'openssh');
    paths.push({ name: 'reverse', label: 'reverse, OpenSSH `ssh -N -R 0`', pool: openssh, nodePid: openssh.agentPid, nodeProcess: 'ssh' });
    const ours = await startReversePool(env.keys, node, 'ours');
    paths.push({ name: 'agent', label: 'reverse, `ssh-egress agent`', pool: ours, nodePid: ours.agentPid, nodeProcess: 'ssh-egress agent' });
  } catch (err) {
    for (const p of paths) await p.pool.close();
    throw err;
  }
  return paths;
}

async function throughputTables(env: Env, paths: Path[], options: BenchOptions, log: (line: string) => void): Promise<{ tables: Table[]; notes: string[] }> {
  const bytes = scaled(256, options) * MiB;
  const node = env.nodes[0]!.name;
  const rows: string[][] = [];
  const cpuRows: string[][] = [];
  const notes: string[] = [];
  for (const dir of ['up', 'down'] as Direction[]) {
    const rate = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const nodeCpu = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const ourCpu = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    // Interleaved; run 0 warms up and is not counted.
    for (let run = 0; run <= options.runs; run++) {
      for (const p of paths) {
        const sock = await p.pool.opener(node, env.peer.ports.bulk)();
        try {
          const before = { node: treeCpuMs(p.nodePid), ours: selfCpuMs() };
          const ms = await transfer(sock, dir, bytes);
          if (run === 0) continue;
          rate.get(p.name)!.push(mbps(bytes, ms));
          nodeCpu.get(p.name)!.push(((treeCpuMs(p.nodePid) - before.node) / ms) * 100);
          ourCpu.get(p.name)!.push(((selfCpuMs() - before.ours) / ms) * 100);
        } finally {
          sock.destroy();
        }
      }
      if (run > 0) log(`  ${dir} run ${run}: ${paths.map((p) => `${p.name} ${rate.get(p.name)!.at(-1)!.toFixed(0)}`).join(', ')} MB/s`);
    }
    const f = (name: string): Figure => figure(rate.get(name)!);
    const forward = f('forward').median;
    rows.push([dir, ...paths.map((p) => fmt(f(p.name))), ...paths.slice(1).map((p) => ratio(f(p.name).median, forward))]);
    const pct = (m: Map<string, number[]>, name: string): string => `${figure(m.get(name)!).median.toFixed(0)} %`;
    for (const p of paths) cpuRows.push([dir, p.label, `${pct(nodeCpu, p.name)} (${p.nodeProcess})`, pct(ourCpu, p.name)]);
    const reverse = f('reverse').median;
    notes.push(`${dir}: reverse (OpenSSH agent) ${ratio(reverse, forward)} forward — target >= 0.9x: ${verdict(reverse >= 0.9 * forward)}`);
  }
  const head = ['direction', ...paths.map((p) => `${p.label} MB/s`), ...paths.slice(1).map((p) => `${p.name} vs forward`)];
  return {
    tables: [
      { caption: `One stream of ${bytes / MiB} MiB to (up) or from (down) the bulk server:`, head, rows },
      {
        caption: 'CPU busy during those transfers (median, % of one core; 2 cores in all): the node end of the SSH connection, and the bench process (ssh2 client for forward, our AgentServer for reverse).',
        head: ['direction', 'path', 'node end', 'bench process'],
        rows: cpuRows,
      },
    ],
    notes,
  };
}

async function latencyTables(env: Env, paths: Path[], options: BenchOptions, log: (line: string) => void): Promise<{ tables: Table[]; notes: string[] }> {
  const node = env.nodes[0]!.name;
  const perRun = Math.ceil(scaled(DIALS, options, options.runs) / options.runs);
  const tables: Table[] = [];
  const notes: string[] = [];
  for (const clientFirst of [false, true]) {
    const port = clientFirst ? env.peer.ports.echo : env.peer.ports.greeter;
    const p50 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    const p99 = new Map<string, number[]>(paths.map((p) => [p.name, []]));
    for (let run = 0; run < options.runs; run++) {
      for (const p of paths) {
        const open = p.pool.opener(node, port);
        const samples: number[] = [];
        for (let i = 0; i < perRun; i++) samples.push(await firstByte(open, clientFirst));
        p50.get(p.name)!.push(percentile(samples, 50));
        p99.get(p.name)!.push(percentile(samples, 99));
      }
    }
    const f50 = (name: string): Figure => figure(p50.get(name)!);
    const f99 = (name: string): Figure => figure(p99.get(name)!);
    const forward = f50('forward').median;
    const kind = clientFirst ? 'client first' : 'server first';
    tables.push({
      caption: clientFirst ? 'Dial to first byte, client speaks first (echo: write "ping", wait for the reply):' : 'Dial to first byte, server speaks first (greeter: a banner on accept):',
      head: ['path', 'p50 ms', 'p99 ms', 'p50 vs forward'],
      rows: paths.map((p) => [p.label, fmt(f50(p.name), 2), fmt(f99(p.name), 2), ratio(f50(p.name).median, forward)]),
    });
    log(`  ${kind}: ${paths.map((p) => `${p.name} p50 ${f50(p.name).median.toFixed(2)} p99 ${f99(p.name).median.toFixed(2)}`).join('; ')}`);
    const reverse = f50('reverse').median;
    notes.push(`${kind}: first byte p50 reverse (OpenSSH agent) ${ratio(reverse, forward)} forward — target <= 1.2x: ${verdict(reverse <= 1.2 * forward)}`);
  }
  return { tables, notes };
}

export const reverse: Benchmark = {
  name: 'reverse',
  async run(env, options, log) {
    const paths = await openPaths(env);
    let streams: { tables: Table[]; notes: string[] };
    try {
      const rates = await throughputTables(env, paths, options, log);
      const dials = await latencyTables(env, paths, options, log);
      streams = { tables: [...rates.tables, ...dials.tables], notes: [...rates.notes, ...dials.notes] };
    } finally {
      for (const p of paths) await p.pool.close();
    }
    const scale = await agentsAtOnce(options, log);
    return {
      title: '7. Reverse tunnels',
      method:
        'The same node (sshd on 127.0.2.1 for forward; its agent on this machine for reverse) reached by the same pool code: ' +
        'forward dials its sshd; reverse waits for the node\'s agent to dial our AgentServer (127.0.0.1, ed25519 host key) and ' +
        'opens a forwarded-tcpip channel with SOCKS5 inside per stream. Agents: stock OpenSSH `ssh -N -R 0 -c aes128-gcm@openssh.com` and ' +
        '`ssh-egress agent` (ssh2, whose first cipher is aes128-gcm), each in its own process and pool; every path uses aes128-gcm. ' +
        `Throughput as in section 1, dial to first byte as in section 3 (${options.runs} runs, interleaved; ${Math.ceil(scaled(DIALS, options, options.runs) / options.runs)} dials per path and run). ` +
        'A reverse dial has one round trip more than a forward one: SSH sends nothing in a channel before its open is confirmed, so ' +
        'the SOCKS5 greeting and CONNECT follow the open and the agent connects to the destination only then (forward: sshd connects within the open). ' +
        scale.method,
      tables: [...streams.tables, ...scale.tables],
      notes: [...streams.notes, ...scale.notes],
    };
  },
};
