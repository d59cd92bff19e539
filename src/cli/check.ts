import type tls from 'node:tls';
import { Command, Option } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { checkNodes, prepareCheck, STEP_DESCRIPTIONS, CHECK_STEPS, type NodeCheckResult } from '../check/index.js';
import type { EgressConfig } from '../config/config-types.js';
import { loadNodes } from '../runtime/index.js';
import { loadKubeletTls } from '../tls/kubelet-tls.js';
import { selectNodes } from './check-select-nodes.js';
import { addConnectionOptions, addKubeletTlsOptions, commandLogger, configFromCommandLine, positiveInt, type ConnectionFlags } from './connection-options.js';
import { reportFailure } from './command-failure.js';
import { EXIT } from './exit-status.js';
import { paletteFor } from './output/colour.js';
import { checkSummary, renderCheckTable, renderCheckWideTable } from './output/check-table.js';
import { progressLine } from './output/progress.js';

interface CheckFlags extends ConnectionFlags {
  concurrency: number;
  timeout?: number;
  /** False with --no-kubelet. */
  kubelet: boolean;
  output: 'table' | 'wide' | 'json';
}

/** Per step, unless the config or --connect-timeout say otherwise: a check should answer in seconds. */
const DEFAULT_STEP_TIMEOUT_MS = 5000;
const DEFAULT_CONCURRENCY = 32;

/** `ssh-egress check [NODE...]`: can the control plane reach every node, and if not, where does it break? */
export function checkCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('check')
    .description(COMMAND_SUMMARIES.check)
    .argument('[node...]', 'node names, addresses or aliases (default: every node in the inventory)')
    .addOption(new Option('-o, --output <format>', 'table, wide (every step\'s time, full fingerprints) or json').choices(['table', 'wide', 'json']).default('table'))
    .addOption(new Option('--concurrency <n>', 'nodes checked at once (one connection per node)').argParser(positiveInt).default(DEFAULT_CONCURRENCY))
    .option('--timeout <ms>', `timeout of each step (default: ${DEFAULT_STEP_TIMEOUT_MS}; --connect-timeout overrides it for TCP and SSH)`, positiveInt)
    .option('--no-kubelet', 'stop after authentication: no channel to the kubelet, no /healthz');
  addKubeletTlsOptions(addConnectionOptions(command)).addHelpText(
    'after',
    `
Steps, in order (the first failure skips the rest):
${CHECK_STEPS.map((s) => `  ${s.padEnd(10)} ${STEP_DESCRIPTIONS[s]}`).join('\n')}

Exit status: 0 every node reachable, 1 some not, 2 usage, config or inventory error (an unknown node name too).

Examples:
  ssh-egress check --config /etc/ssh-egress/ssh-egress.yaml
  ssh-egress check --inventory nodes.yaml -i ~/.ssh/id_ed25519 --known-hosts ~/.ssh/known_hosts \\
    --kubelet-ca /etc/kubernetes/pki/ca.crt node-a node-b
  ssh-egress check --config ssh-egress.yaml -o json | jq -r '.[] | select(.ok | not) | .name'
  ssh-egress check --config ssh-egress.yaml -o wide --concurrency 64 --timeout 3000`,
  );
  command.action(async (names: string[], flags: CheckFlags) => {
    try {
      const config = await configFromCommandLine(flags);
      const logger = await commandLogger(config);
      const nodes = selectNodes(await loadNodes(config.inventory), names);
      const options = await prepareCheck(
        { ...config.ssh, logger },
        { ...timeouts(config, flags), kubeletTls: await kubeletTls(config, flags), kubeletPath: config.healthCheck.path, logger },
      );
      const progress = progressLine(process.stderr, { total: nodes.length });
      let results: NodeCheckResult[];
      try {
        results = await checkNodes(nodes, { ...options, concurrency: flags.concurrency, onProgress: (p) => progress.update(p.done, p.failed) });
      } finally {
        progress.stop();
      }
      report(results, flags.output, options.kubelet !== undefined && options.kubelet.tls.ca === undefined);
      setExitCode(results.every((r) => r.ok) ? EXIT.OK : EXIT.FAILED);
    } catch (err) {
      setExitCode(reportFailure('check', err));
    }
  });
  return command;
}

function timeouts(config: EgressConfig, flags: CheckFlags): { connectTimeoutMs: number; handshakeTimeoutMs: number; stepTimeoutMs: number } {
  // --connect-timeout already sits in config.ssh; otherwise --timeout beats a daemon-sized config value.
  const ssh = (configured: number | undefined): number =>
    flags.connectTimeout ?? flags.timeout ?? configured ?? DEFAULT_STEP_TIMEOUT_MS;
  return {
    connectTimeoutMs: ssh(config.ssh.connectTimeoutMs),
    handshakeTimeoutMs: ssh(config.ssh.handshakeTimeoutMs),
    stepTimeoutMs: flags.timeout ?? config.healthCheck.timeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
  };
}

/** The health check's files, --kubelet-ca and --kubelet-client-cert/-key already applied over the config's. */
async function kubeletTls(config: EgressConfig, flags: CheckFlags): Promise<tls.ConnectionOptions | undefined> {
  if (!flags.kubelet) return undefined;
  const { caFile, certFile, keyFile } = config.healthCheck;
  return loadKubeletTls({ caFile, certFile, keyFile });
}

function report(results: NodeCheckResult[], output: CheckFlags['output'], unverified: boolean): void {
  if (output === 'json') {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const colours = paletteFor(process.stdout);
  const table = output === 'wide' ? renderCheckWideTable(results, colours) : renderCheckTable(results, colours);
  process.stdout.write(`${table}\n${checkSummary(results)}\n`);
  if (unverified && results.some((r) => r.kubelet?.certificate)) {
    process.stderr.write('ssh-egress check: kubelet certificates were not verified: no CA given (--kubelet-ca, or healthCheck.caFile in the config)\n');
  }
}
