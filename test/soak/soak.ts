// The soak itself, run inside the control-plane namespace of a system-test topology: a daemon, client
// loops with checksummed streams, a chaos loop, and samples of the daemon's descriptors and memory.
import { readFileSync } from 'node:fs';
import type { Topology } from '../system/topology.js';
import { Chaos, type ChaosEvent, type ChaosKind } from './soak-chaos.js';
import { CONNECT_LISTEN, SoakDaemon, type Resources } from './soak-daemon.js';
import type { SoakOptions } from './soak-options.js';
import { Random } from './soak-random.js';
import { runStream, type Outcome, type StreamSpec } from './soak-streams.js';

export interface Sample extends Resources {
  /** Seconds since the load started. */
  at: number;
  label: string;
}

export interface SoakResult {
  options: SoakOptions;
  nodes: number;
  started: number;
  failed: Record<string, number>;
  corrupted: Record<string, number>;
  hung: Record<string, number>;
  intact: number;
  byKind: Record<string, { started: number; intact: number }>;
  connectMs: { p50: number; p99: number; max: number };
  chaos: Record<ChaosKind, number>;
  /** Every chaos action and undo, seconds since the load started. */
  chaosEvents: ChaosEvent[];
  /** Streams that hung, were corrupted or ended short without an error: when, where, why. */
  anomalies: Array<{ at: number; kind: string; target: string; node: string | undefined; what: string }>;
  chaosMs: number;
  /** From the end of chaos to every tunnel READY again. */
  recoveryMs: number | undefined;
  samples: Sample[];
  /** Tunnel states at the end, with open streams (must be 0 after the load stops). */
  finalTunnels: Array<{ node: string; state: string; openStreams: number }>;
  daemonAlive: boolean;
  daemonExitCode: number | null | undefined;
  daemonLogTail: string;
}

const SAMPLE_EVERY_MS = 5_000;

export async function runSoak(t: Topology, options: SoakOptions, progress: (line: string) => void = () => undefined): Promise<SoakResult> {
  const random = new Random(options.seed);
  const daemon = new SoakDaemon(t);
  await daemon.start();
  const chaos = new Chaos(t, daemon, random, options.chaos);
  const ca = readFileSync(t.kubeletCaFile);
  const samples: Sample[] = [];
  const t0 = Date.now();
  const sample = (label: string): void => {
    if (daemon.alive) samples.push({ at: Math.round((Date.now() - t0) / 1000), label, ...daemon.resources() });
  };
  sample('start (tunnels READY, before load)');

  const result: SoakResult = {
    options, nodes: t.nodes.length, started: 0, intact: 0, failed: {}, corrupted: {}, hung: {}, byKind: {},
    connectMs: { p50: 0, p99: 0, max: 0 }, chaos: chaos.counts, chaosEvents: chaos.events, anomalies: [], chaosMs: 0, recoveryMs: undefined, samples,
    finalTunnels: [], daemonAlive: true, daemonExitCode: undefined, daemonLogTail: '',
  };
  const connectTimes: number[] = [];
  const loadEnds = t0 + options.durationMs;
  // The last quarter (at most a minute) has no chaos: recovery is measured, under load.
  const chaosEnds = loadEnds - Math.min(60_000, Math.round(options.durationMs / 4));

  const record = (spec: StreamSpec, o: Outcome, startedAt: number): void => {
    const bad = o.result === 'corrupted' || o.result === 'hung' || (o.result === 'failed' && o.reason.includes('clean end'));
    if (bad) {
      const what = o.result === 'hung' ? `hung: ${o.stage}` : `${o.result}: ${o.reason}`;
      result.anomalies.push({ at: (startedAt - t0) / 1000, kind: spec.kind, target: spec.target, node: nodeOfTarget(t, spec.target), what });
    }
    const key = `${spec.kind}`;
    const tally = (result.byKind[key] ??= { started: 0, intact: 0 });
    tally.started += 1;
    const count = (map: Record<string, number>, reason: string): void => void (map[reason] = (map[reason] ?? 0) + 1);
    if (o.result === 'intact') {
      result.intact += 1;
      tally.intact += 1;
      connectTimes.push(o.connectMs);
    } else if (o.result === 'failed') count(result.failed, o.reason);
    else if (o.result === 'corrupted') count(result.corrupted, `${spec.kind} ${spec.target}: ${o.reason}`);
    else count(result.hung, `${spec.kind} ${spec.target}: ${o.stage}`);
  };

  const worker = async (): Promise<void> => {
    while (Date.now() < loadEnds) {
      const spec = pickStream(t, random, ca);
      result.started += 1;
      const startedAt = Date.now();
      record(spec, await runStream(CONNECT_LISTEN, spec, options.streamDeadlineMs), startedAt);
    }
  };
  const workers = Array.from({ length: options.workers }, () => worker());

  const chaosLoop = (async () => {
    while (Date.now() < chaosEnds) {
      await sleep(random.int(options.chaosEveryMs / 2, (options.chaosEveryMs * 3) / 2));
      if (Date.now() >= chaosEnds) break;
      await chaos.step();
    }
    await chaos.undoAll();
    result.chaosMs = Date.now() - t0;
    progress(`chaos over after ${Math.round(result.chaosMs / 1000)} s: ${JSON.stringify(chaos.counts)}; waiting for every tunnel READY`);
    result.recoveryMs = await daemon
      .waitUntil('every tunnel READY after chaos', async () => (await daemon.tunnels()).every((s) => s.state === 'READY'), 90_000)
      .catch(() => undefined);
    progress(`recovered in ${result.recoveryMs ?? 'NOT'} ms`);
  })();

  const sampler = (async () => {
    let middleTaken = false;
    while (Date.now() < loadEnds) {
      await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, loadEnds - Date.now())));
      const middle = !middleTaken && Date.now() >= t0 + options.durationMs / 2;
      if (middle) middleTaken = true;
      sample(middle ? 'middle of the load' : 'load');
      progress(`${Math.round((Date.now() - t0) / 1000)} s: ${result.started} streams, ${result.intact} intact, ${sum(result.failed)} failed, ${sum(result.corrupted)} corrupted, ${sum(result.hung)} hung`);
    }
  })();

  await Promise.all([...workers, chaosLoop, sampler]);
  sample('end of load');
  // Quiet: every client is gone; the daemon should drop back to where it started.
  await sleep(5_000);
  sample('5 s after the load');
  result.finalTunnels = (await daemon.tunnels().catch(() => [])).map(({ node, state, openStreams }) => ({ node, state, openStreams }));
  result.daemonAlive = daemon.alive;
  connectTimes.sort((a, b) => a - b);
  result.connectMs = { p50: quantile(connectTimes, 0.5), p99: quantile(connectTimes, 0.99), max: connectTimes.at(-1) ?? 0 };
  result.chaosEvents = chaos.events.map((e) => ({ ...e, at: Math.round((e.at - t0) / 100) / 10 }));
  result.daemonExitCode = await daemon.stop();
  result.daemonLogTail = daemon.log.slice(-4000);
  return result;
}

/** A random stream: pod, service, node port or kubelet; echo or sha256 with a log-uniform size. */
function pickStream(t: Topology, random: Random, ca: Buffer): StreamSpec {
  const node = random.pick(t.nodes);
  const size = random.logUniform(1024, 512 * 1024);
  switch (random.int(0, 6)) {
    case 0:
      return { kind: 'echo', target: `${random.pick(node.podIPs)}:${t.ports.echo}`, size };
    case 1:
      return { kind: 'sha256', target: `${random.pick(node.podIPs)}:${t.ports.podHttp}`, size };
    case 2:
      return { kind: 'echo', target: `${t.clusterIP}:${t.ports.echo}`, size };
    case 3:
      return { kind: 'sha256', target: `${t.clusterIP}:${t.ports.podHttp}`, size };
    case 4:
      return { kind: 'sha256', target: `${node.address}:${t.ports.nodeHttp}`, size };
    case 5:
      return { kind: 'echo', target: `${node.address}:${t.ports.echo}`, size };
    default:
      return { kind: 'kubelet', target: `${node.address}:${t.ports.kubelet}`, size: 0, ca };
  }
}

/** The node a target belongs to (undefined for the ClusterIP, which any node may carry). */
function nodeOfTarget(t: Topology, target: string): string | undefined {
  const host = target.slice(0, target.lastIndexOf(':'));
  return t.nodes.find((n) => n.address === host || n.podIPs.includes(host))?.name;
}

export const sum = (m: Record<string, number>): number => Object.values(m).reduce((a, b) => a + b, 0);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
