// 5. Scale: 1,000 nodes (in-process fake sshd servers in a child process) from cold start to all READY, with
// the pool alone in another fresh process: time, RSS per idle tunnel, then 10,000 concurrent streams.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Benchmark } from './lib/context.js';
import { scaled } from './lib/context.js';
import type { NodeAddress } from './lib/fake-nodes-main.js';
import { forkTs, reply } from './lib/child.js';
import { stop } from './lib/proc.js';
import { fmt, verdict } from './lib/report.js';
import type { ScaleRequest, ScaleResult } from './lib/scale-pool-main.js';
import { figure, MiB } from './lib/stats.js';

const KiB = 1024;
const USER = 'egress';

export const scale: Benchmark = {
  name: 'scale',
  async run(_env, options, log) {
    const nodeCount = scaled(1000, options, 10);
    const streams = scaled(10_000, options, 100);
    const runs = Math.min(options.runs, 3);
    const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-scale-'));
    const nodesProcess = forkTs('./fake-nodes-main.ts', [String(nodeCount), dir, USER]);
    const results: ScaleResult[] = [];
    try {
      const nodes = await reply<NodeAddress[]>(nodesProcess, 'ready', 60_000);
      for (let run = 0; run < runs; run++) {
        const poolProcess = forkTs('./scale-pool-main.ts');
        const request: ScaleRequest = {
          nodes, user: USER, identityFile: path.join(dir, 'id_ed25519'), knownHostsFile: path.join(dir, 'known_hosts'), streams,
        };
        poolProcess.send(request);
        try {
          const r = await reply<ScaleResult>(poolProcess, 'result', 180_000);
          results.push(r);
          log(`  run ${run + 1}: ${nodeCount} READY in ${(r.readyMs / 1000).toFixed(1)} s, ${((r.rssReady - r.rssBefore) / nodeCount / KiB).toFixed(0)} KiB RSS per tunnel; ${streams} streams in ${(r.streamsOpenMs / 1000).toFixed(1)} s, peak RSS ${(r.rssStreamsPeak / MiB).toFixed(0)} MiB, ${r.streamErrors} errors${r.firstError ? ` (${r.firstError})` : ''}`);
        } finally {
          await stop(poolProcess);
        }
      }
    } finally {
      await stop(nodesProcess);
      rmSync(dir, { recursive: true, force: true });
    }
    const readyS = figure(results.map((r) => r.readyMs / 1000));
    const perTunnel = figure(results.map((r) => (r.rssReady - r.rssBefore) / nodeCount / KiB));
    const heapPerTunnel = figure(results.map((r) => (r.heapReady - r.heapBefore) / nodeCount / KiB));
    const poolRss = figure(results.map((r) => r.rssReady / MiB));
    const openS = figure(results.map((r) => r.streamsOpenMs / 1000));
    const peak = figure(results.map((r) => r.rssStreamsPeak / MiB));
    const errors = results.reduce((n, r) => n + r.streamErrors, 0);
    return {
      title: `5. Scale: ${nodeCount.toLocaleString('en')} nodes, ${streams.toLocaleString('en')} streams`,
      method:
        `${nodeCount} fake sshd nodes (src/simulator's FakeSshNode, ssh2 Server, ed25519 host key) in one child process on ` +
        '127.0.10.x–127.0.13.x; the pool (healthCheck kind "ssh", default maxConcurrentConnects 8) alone in a fresh ' +
        `process per run. Cold start: from setNodes() to every tunnel READY. Then ${streams} streams dialled at once, ` +
        `round-robin over the nodes, each echoing a ping and held open together. ${runs} runs.`,
      tables: [
        {
          head: ['measure', 'value'],
          rows: [
            ['cold start to all READY', `${fmt(readyS, 1)} s`],
            ['RSS per idle tunnel (after GC)', `${fmt(perTunnel)} KiB`],
            ['JS heap per idle tunnel', `${fmt(heapPerTunnel)} KiB`],
            ['pool process RSS, all READY', `${fmt(poolRss)} MiB`],
            [`${streams} streams dialled and echoed`, `${fmt(openS, 1)} s`],
            [`peak RSS with ${streams} streams open`, `${fmt(peak)} MiB`],
            ['stream errors (all runs)', String(errors)],
          ],
        },
      ],
      notes: [
        `cold start ${readyS.median.toFixed(1)} s — target <= 10 s: ${verdict(readyS.median <= 10)}`,
        `${perTunnel.median.toFixed(0)} KiB RSS per idle tunnel — target <= 150 KiB: ${verdict(perTunnel.median <= 150)}`,
        `${streams} streams: peak RSS ${peak.median.toFixed(0)} MiB (target <= 1024 MiB: ${verdict(peak.max <= 1024)}), ${errors} errors (target 0: ${verdict(errors === 0)})`,
      ],
    };
  },
};
