import { Command, Option } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import pLimit from 'p-limit';
import { describeFailure } from '../check/plain-words.js';
import { loadNodes } from '../runtime/index.js';
import { ConfigError, ConnectError } from '../errors.js';
import { formatHashedKnownHostsLines, formatKnownHostsLine } from '../hostkeys/known-hosts.js';
import { selectNodes } from './check-select-nodes.js';
import { addConnectionOptions, configFromCommandLine, positiveInt, type ConnectionFlags } from './connection-options.js';
import { reportFailure } from './command-failure.js';
import { EXIT } from './exit-status.js';
import { scanNode, SCAN_KEY_TYPES, type NodeScan, type ScanKeyType } from '../ssh/scan-host-keys.js';

interface ScanFlags extends ConnectionFlags {
  hash?: boolean;
  type: string;
  timeout: number;
  concurrency: number;
}

const ALL_TYPES = Object.keys(SCAN_KEY_TYPES) as ScanKeyType[];

/**
 * `ssh-egress scan [NODE...]`: host keys as known_hosts lines, for bootstrapping trust on purpose.
 * stdout is exactly a known_hosts file; the fingerprints to compare against the nodes' consoles go to
 * stderr as `#` lines, so a hashed file does not carry the names in clear beside their hashes.
 */
export function scanCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('scan')
    .description(COMMAND_SUMMARIES.scan)
    .argument('[node...]', 'node names, addresses or aliases (default: every node in the inventory)')
    .option('-H, --hash', 'hash the host names, as ssh-keygen -H does (one line per name)')
    .option('-t, --type <types>', `key types to fetch, comma-separated: ${ALL_TYPES.join(', ')}`, ALL_TYPES.join(','))
    .addOption(new Option('--timeout <ms>', 'timeout of each handshake').argParser(positiveInt).default(5000))
    .addOption(new Option('--concurrency <n>', 'nodes scanned at once (each gets one handshake at a time)').argParser(positiveInt).default(32));
  addConnectionOptions(command).addHelpText(
    'after',
    `
Only --config/--inventory matter here: scanning does not authenticate, so the SSH user, key and
known_hosts are not used. stdout is a known_hosts file ("name,address type key", "[name]:port,..." when
the SSH port is not 22); each key's fingerprint goes to stderr as "# SHA256:... name (type)". Compare the
fingerprints with the nodes' own (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the node) before
trusting the file: a scan trusts whatever answers.

Exit status: 0 every node gave a key, 1 some did not, 2 usage, config or inventory error.

Examples:
  ssh-egress scan --inventory nodes.yaml > known_hosts
  ssh-egress scan --config /etc/ssh-egress/ssh-egress.yaml --hash node-a node-b >> known_hosts
  ssh-egress scan --inventory nodes.yaml -t ed25519 2>fingerprints.txt > known_hosts`,
  );
  command.action(async (names: string[], flags: ScanFlags) => {
    try {
      const types = parseTypes(flags.type);
      const config = await configFromCommandLine(flags);
      const nodes = selectNodes(await loadNodes(config.inventory), names);
      const limit = pLimit(flags.concurrency);
      const scans = await Promise.all(nodes.map((node) => limit(() => scanNode(node, types, flags.timeout))));
      let failed = 0;
      for (const scan of scans) {
        if (!print(scan, flags.hash === true, flags.timeout)) failed += 1;
      }
      setExitCode(failed === 0 ? EXIT.OK : EXIT.FAILED);
    } catch (err) {
      setExitCode(reportFailure('scan', err));
    }
  });
  return command;
}

/** Writes the node's lines; false when it gave no key or failed part way. */
function print(scan: NodeScan, hash: boolean, timeoutMs: number): boolean {
  const { node } = scan;
  const hosts = [node.name, node.address];
  for (const key of scan.keys) {
    const lines = hash ? formatHashedKnownHostsLines(hosts, node.sshPort, key.blob) : [formatKnownHostsLine(hosts, node.sshPort, key.blob)];
    process.stdout.write(lines.map((l) => `${l}\n`).join(''));
    process.stderr.write(`# ${key.fingerprint} ${node.name} (${key.keyType})\n`);
  }
  if (scan.error) {
    process.stderr.write(`ssh-egress scan: ${node.name}: ${describeScanError(scan, timeoutMs)}\n`);
    return false;
  }
  if (scan.keys.length === 0) {
    process.stderr.write(`ssh-egress scan: ${node.name}: offered none of the key types asked for\n`);
    return false;
  }
  return true;
}

function describeScanError(scan: NodeScan, timeoutMs: number): string {
  const err = scan.error;
  if (!(err instanceof ConnectError)) return err?.message ?? 'unknown error';
  return describeFailure(err, 'tcp', { node: scan.node, user: '', connectTimeoutMs: timeoutMs, handshakeTimeoutMs: timeoutMs }).message;
}

function parseTypes(text: string): ScanKeyType[] {
  const types = text.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== '');
  const bad = types.find((t) => !(ALL_TYPES as string[]).includes(t));
  if (bad !== undefined || types.length === 0) {
    throw new ConfigError('--type', `${JSON.stringify(bad ?? text)} is not one of ${ALL_TYPES.join(', ')}`);
  }
  return [...new Set(types)] as ScanKeyType[];
}
