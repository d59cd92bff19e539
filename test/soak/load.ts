// The soak's load and chaos, run inside the control-plane namespace by run.ts (or by the system test):
//   tsx test/soak/load.ts [--duration 3m] [--workers 16] [--report FILE] [--seed N]
// with SSH_EGRESS_TOPOLOGY naming the topology. Exit status 0 when the soak passes, 1 when not.
import { writeFileSync } from 'node:fs';
import { loadTopology } from '../system/topology.js';
import { parseSoakArgs } from './soak-options.js';
import { renderReport, verdict } from './soak-report.js';
import { runSoak } from './soak.js';

const options = parseSoakArgs(process.argv.slice(2));
const t = loadTopology();
console.log(`soak: ${options.durationMs / 1000} s, ${options.workers} clients, ${t.nodes.length} nodes, seed ${options.seed}`);
const result = await runSoak(t, options, (line) => console.log(`soak: ${line}`));
const v = verdict(result);
const report = renderReport(result, v);
if (options.reportFile) writeFileSync(options.reportFile, report);
console.log(report);
if (!v.pass) console.error(`soak FAILED:\n${v.problems.join('\n')}\n--- daemon log tail ---\n${result.daemonLogTail}`);
process.exit(v.pass ? 0 : 1);
