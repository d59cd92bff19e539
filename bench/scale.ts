// 5. Scale to Kubernetes' limit: 5,000 nodes (in-process fake sshd servers in a child process) from cold start to
// all READY, with the pool alone in another fresh process: time, RSS per idle tunnel, CPU time of the pool vs the
// fake nodes, then 50,000 concurrent streams. Then cold starts at other handshake concurrencies, and what
// keepalives and health probes cost per node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Benchmark, BenchOptions } from './lib/context.js';
import { scaled } from './lib/context.js';
import type { NodeAddress } from './lib/fake-nodes-main.js';
import { forkTs, reply } from './lib/child.js';
import { stop } from './lib/proc.js';
import { fmt, verdict, type Table } from './lib/report.js';
import type { CpuSplit, ScaleRequest, ScaleResult } from './lib/scale-pool-main.js';
import { POOL_DEFAULTS } from '../src/tunnel/pool-options.js';
import { figure, MiB, type Figure } from './lib/stats.js';

const KiB = 1024;
const USER = 'egress';
const TARGET_READY_S = 15;
const TARGET_KIB_PER_TUNNEL = 100;
const TARGET_PEAK_MIB = 1536;
const DEFAULT_CONCURRENCY = POOL_DEFAULTS.maxConcurrentConnects;
/** Handshake concurrencies of the sweep, the default among them. */
const SWEEP = [8, 32, DEFAULT_CONCURRENCY];
/**
 * What the sweep's fake nodes wait before their banner: a real sshd forks and re-executes itself per
 * connection, and one here took 34 ms from connect to authenticated (sequential, loopback), of which the
 * pool's CPU was 4 ms. The wait costs no CPU, so it shows what concurrency overlaps on a real cluster.
 */
const SSHD_STARTUP_MS = 30;

/** The soft limit on open files this process (and so every child) has; undefined off Linux. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/** The fake nodes hold a listener and a connection each; the pool a connection each. */
function checkOpenFiles(nodeCount: number): void {
  const limit = openFileLimit();
  const needed = 2 * nodeCount + 256;
  if (limit !== undefined && limit < needed) {
    throw new Error(`section 5 needs ${needed} open files per process for ${nodeCount} nodes; raise \`ulimit -n\` (now ${limit}) or run with a smaller --scale`);
  }
}

/** One measured idle window: what keepalives or probes cost, per event, in each process. */
interface Cadence {
  label: string;
  /** The pool's default interval for it, to scale the cost to. */
  defaultEveryS: number;
  request: Pick<ScaleRequest, 'healthCheck' | 'keepaliveIntervalMs' | 'idleMs'>;
  everyS: number;
}

const CADENCES: Cadence[] = [
  { label: 'SSH keepalive (kind "ssh")', defaultEveryS: 15, everyS: 1, request: { keepaliveIntervalMs: 1000, idleMs: 3000 } },
  { label: 'tcp probe (a channel opened and closed)', defaultEveryS: 30, everyS: 1, request: { keepaliveIntervalMs: 0, idleMs: 3000, healthCheck: { kind: 'tcp', intervalMs: 1000 } } },
  {
    label: 'kubelet-https probe (TLS + GET /healthz, the default kind)',
    defaultEveryS: 30,
    everyS: 2,
    request: { keepaliveIntervalMs: 0, idleMs: 4000, healthCheck: { kind: 'kubelet-https', intervalMs: 2000 } },
  },
];

const cpuText = (c: CpuSplit): string => `pool ${(c.poolMs / 1000).toFixed(1)} s, fake nodes ${(c.nodesMs / 1000).toFixed(1)} s`;
const share = (c: CpuSplit): number => (100 * c.poolMs) / (c.poolMs + c.nodesMs);

export const scale: Benchmark = {
  name: 'scale',
  async run(_env, options, log) {
    const nodeCount = scaled(5000, options, 10);
    const streams = scaled(50_000, options, 100);
    const runs = Math.min(options.runs, 3);
    // The cost of one keepalive or probe does not depend on the node count: priced on fewer nodes, it costs less time.
    const cadenceNodes = Math.min(nodeCount, scaled(1000, options, 10));
    checkOpenFiles(nodeCount);
    const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-scale-'));
    const nodesProcess = forkTs('./fake-nodes-main.ts', [String(nodeCount), dir, USER]);
    const results: ScaleResult[] = [];
    const sweep = new Map<number, ScaleResult>();
    const cadences: ScaleResult[] = [];
    try {
      const nodes = await reply<NodeAddress[]>(nodesProcess, 'ready', 120_000);
      const base: ScaleRequest = {
        nodes, user: USER, identityFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts'), streams: 0,
        nodesPids: [nodesProcess.pid!],
      };
      for (let run = 0; run < runs; run++) {
        const r = await inFreshPool({ ...base, streams });
        results.push(r);
        log(`  run ${run + 1}: ${nodeCount} READY in ${(r.readyMs / 1000).toFixed(1)} s (CPU ${cpuText(r.coldStartCpu)}), ${((r.rssReady - r.rssBefore) / nodeCount / KiB).toFixed(0)} KiB RSS per tunnel; ${streams} streams in ${(r.streamsOpenMs / 1000).toFixed(1)} s, peak RSS ${(r.rssStreamsPeak / MiB).toFixed(0)} MiB, ${r.streamErrors} errors${r.firstError ? ` (${r.firstError})` : ''}`);
      }
      await setHandshakeDelay(nodesProcess, SSHD_STARTUP_MS);
      for (const concurrency of SWEEP) {
        const r = await inFreshPool({ ...base, maxConcurrentConnects: concurrency });
        sweep.set(concurrency, r);
        log(`  maxConcurrentConnects ${concurrency}, ${SSHD_STARTUP_MS} ms sshd start-up: READY in ${(r.readyMs / 1000).toFixed(1)} s (CPU ${cpuText(r.coldStartCpu)})`);
      }
      await setHandshakeDelay(nodesProcess, 0);
      for (const cadence of CADENCES) {
        const r = await inFreshPool({ ...base, nodes: nodes.slice(0, cadenceNodes), ...cadence.request });
        cadences.push(r);
        log(`  ${cadence.label} every ${cadence.everyS} s: CPU ${cpuText(r.idleCpu!)} over ${cadence.request.idleMs! / 1000} s, ${r.probesFailing} probes failing`);
      }
    } finally {
      await stop(nodesProcess);
      rmSync(dir, { recursive: true, force: true });
    }
    return report({ nodeCount, streams, runs, cadenceNodes }, results, sweep, cadences, options);
  },
};

async function setHandshakeDelay(nodesProcess: ChildProcess, ms: number): Promise<void> {
  nodesProcess.send({ handshakeDelayMs: ms });
  await reply(nodesProcess, 'delaySet', 10_000);
}

async function inFreshPool(request: ScaleRequest): Promise<ScaleResult> {
  const poolProcess = forkTs('./scale-pool-main.ts');
  try {
    poolProcess.send(request);
    return await reply<ScaleResult>(poolProcess, 'result', 180_000);
  } finally {
    await stop(poolProcess);
  }
}

interface Sizes {
  nodeCount: number;
  streams: number;
  runs: number;
  /** Nodes the idle windows run on. */
  cadenceNodes: number;
}

function report(
  { nodeCount, streams, runs, cadenceNodes }: Sizes,
  results: ScaleResult[],
  sweep: Map<number, ScaleResult>,
  cadences: ScaleResult[],
  options: BenchOptions,
): { title: string; method: string; tables: Table[]; notes: string[] } {
  const of = (pick: (r: ScaleResult) => number): Figure => figure(results.map(pick));
  const readyS = of((r) => r.readyMs / 1000);
  const perTunnel = of((r) => (r.rssReady - r.rssBefore) / nodeCount / KiB);
  const heapPerTunnel = of((r) => (r.heapReady - r.heapBefore) / nodeCount / KiB);
  const poolRss = of((r) => r.rssReady / MiB);
  const poolCpu = of((r) => r.coldStartCpu.poolMs / 1000);
  const nodesCpu = of((r) => r.coldStartCpu.nodesMs / 1000);
  const poolShare = of((r) => share(r.coldStartCpu));
  const poolCpuPerHandshake = of((r) => r.coldStartCpu.poolMs / nodeCount);
  const openS = of((r) => r.streamsOpenMs / 1000);
  const peak = of((r) => r.rssStreamsPeak / MiB);
  const heapPerStream = of((r) => (r.heapStreamsOpen - r.heapReady) / streams / KiB);
  const rssPerStream = of((r) => (r.rssStreamsOpen - r.rssReady) / streams / KiB);
  const streamsPoolCpu = of((r) => r.streamsCpu.poolMs / 1000);
  const streamsNodesCpu = of((r) => r.streamsCpu.nodesMs / 1000);
  const errors = results.reduce((n, r) => n + r.streamErrors, 0);
  const single = (r: ScaleResult | undefined, pick: (r: ScaleResult) => number, digits = 1): string => (r ? pick(r).toFixed(digits) : '—');
  const sweepRows = SWEEP.map((c) => {
    const r = sweep.get(c);
    return [
      c === DEFAULT_CONCURRENCY ? `${c} (default)` : String(c),
      `${((nodeCount * SSHD_STARTUP_MS) / c / 1000).toFixed(1)}`,
      single(r, (x) => x.readyMs / 1000),
      single(r, (x) => x.coldStartCpu.poolMs / 1000),
      single(r, (x) => x.coldStartCpu.nodesMs / 1000),
    ];
  });
  const cadenceRows = CADENCES.map((cadence, i) => {
    const r = cadences[i];
    const events = (cadenceNodes * (cadence.request.idleMs ?? 0)) / (cadence.everyS * 1000);
    const perEvent = (ms: number): number => (1000 * ms) / events; // µs
    const atDefault = (ms: number): number => (100 * (perEvent(ms) / 1e6) * nodeCount) / cadence.defaultEveryS; // % of a core
    if (!r?.idleCpu) return [cadence.label, '—', '—', '—', '—'];
    const { poolMs, nodesMs } = r.idleCpu;
    return [
      `${cadence.label}, every ${cadence.everyS} s for ${(cadence.request.idleMs ?? 0) / 1000} s`,
      `${perEvent(poolMs).toFixed(0)} µs`,
      `${perEvent(nodesMs).toFixed(0)} µs`,
      `${atDefault(poolMs).toFixed(1)} % (every ${cadence.defaultEveryS} s)`,
      String(r.probesFailing),
    ];
  });
  return {
    title: `5. Scale: ${nodeCount.toLocaleString('en')} nodes, ${streams.toLocaleString('en')} streams`,
    method:
      `${nodeCount} fake sshd nodes (src/simulator's FakeSshNode, ssh2 Server, ed25519 host key) in one child process on ` +
      `127.0.10.x–127.0.${10 + Math.floor((nodeCount - 1) / 250)}.x (250 per /24); the pool (healthCheck kind "ssh", default maxConcurrentConnects ${DEFAULT_CONCURRENCY}, ` +
      `maxPendingDials raised to ${streams} for the one burst of dials) alone in a fresh process per run. Both share this machine's cores: ` +
      'CPU time (user + system) of the pool process and of the fake nodes\' process over the same interval shows the pool\'s share. ' +
      `Cold start: from setNodes() to every tunnel READY. Then ${streams} streams dialled at once, round-robin over the nodes, ` +
      `each echoing a ping and held open together; memory per stream is the RSS / JS heap (after GC) with them open minus all READY. ${runs} runs. ` +
      `Then a cold start (1 run each, so noisier) at maxConcurrentConnects ${SWEEP.join(', ')} with every fake node waiting ${SSHD_STARTUP_MS} ms ` +
      'before its banner, as a real sshd does while it forks and re-executes itself (34 ms from connect to authenticated with the bench\'s ' +
      `OpenSSH sshd on loopback, of which 4 ms the pool's CPU); and three idle windows after ${cadenceNodes} nodes ` +
      'are READY that price a keepalive and a health probe: CPU over the window divided by the events in it (nodes × window / interval, ' +
      `intervals shortened to fill the window), then scaled to ${nodeCount} nodes at the default interval.` +
      (options.scale === 1 ? '' : ` (--scale ${options.scale})`),
    tables: [
      {
        head: ['measure', 'value'],
        rows: [
          ['cold start to all READY', `${fmt(readyS, 1)} s`],
          ['CPU during cold start: pool process', `${fmt(poolCpu, 1)} s (${fmt(of((r) => r.coldStartCpu.poolMs / 1000 / (r.readyMs / 1000) * 100))} % of a core)`],
          ['CPU during cold start: fake nodes\' process', `${fmt(nodesCpu, 1)} s`],
          ['pool\'s share of the cold start\'s CPU', `${fmt(poolShare)} %`],
          ['pool CPU per handshake', `${fmt(poolCpuPerHandshake, 2)} ms`],
          ['RSS per idle tunnel (after GC)', `${fmt(perTunnel)} KiB`],
          ['JS heap per idle tunnel', `${fmt(heapPerTunnel)} KiB`],
          ['pool process RSS, all READY', `${fmt(poolRss)} MiB`],
          [`${streams} streams dialled and echoed`, `${fmt(openS, 1)} s`],
          [`CPU for them: pool / fake nodes`, `${fmt(streamsPoolCpu, 1)} s / ${fmt(streamsNodesCpu, 1)} s`],
          [`peak RSS with ${streams} streams open`, `${fmt(peak)} MiB`],
          ['RSS / JS heap per open stream', `${fmt(rssPerStream, 1)} / ${fmt(heapPerStream, 1)} KiB`],
          ['stream errors (all runs)', String(errors)],
        ],
      },
      {
        caption: `Cold start of ${nodeCount} nodes whose sshd waits ${SSHD_STARTUP_MS} ms before its banner, by handshake concurrency (1 run each):`,
        head: ['maxConcurrentConnects', 'wait alone: nodes × wait / concurrency (s)', 'all READY (s)', 'pool CPU (s)', 'fake nodes CPU (s)'],
        rows: sweepRows,
      },
      {
        caption: `What keeping idle tunnels checked costs (CPU per event, priced on ${cadenceNodes} nodes; the pool's share of one core for ${nodeCount} nodes at the default interval):`,
        head: ['event', 'pool CPU each', 'fake node CPU each', `pool, ${nodeCount} nodes`, 'probes failing'],
        rows: cadenceRows,
      },
    ],
    notes: [
      `cold start ${readyS.median.toFixed(1)} s — target <= ${TARGET_READY_S} s: ${verdict(readyS.median <= TARGET_READY_S)}`,
      `${perTunnel.median.toFixed(0)} KiB RSS per idle tunnel — target <= ${TARGET_KIB_PER_TUNNEL} KiB: ${verdict(perTunnel.median <= TARGET_KIB_PER_TUNNEL)}`,
      `${streams} streams: peak RSS ${peak.median.toFixed(0)} MiB (target <= ${TARGET_PEAK_MIB} MiB: ${verdict(peak.max <= TARGET_PEAK_MIB)}), ${errors} errors (target 0: ${verdict(errors === 0)})`,
    ],
  };
}
