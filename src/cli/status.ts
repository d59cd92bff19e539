import { isIPv6 } from 'node:net';
import { Command, Option } from 'commander';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { loadConfig } from '../config/index.js';
import { ADMIN_DEFAULTS } from '../frontends/admin-server.js';
import { positiveInt } from './connection-options.js';
import { EXIT, exitStatusFor } from './exit-status.js';
import { paletteFor } from './output/colour.js';
import { inventorySummary, renderStatusTable, renderStatusWideTable, statusSummary } from './output/status-table.js';
import { AdminUnreachableError, adminStatusUrl, fetchAdminStatus } from './status-fetch.js';

interface StatusFlags {
  admin?: string;
  config?: string;
  output: 'table' | 'wide' | 'json';
  timeout: number;
}

/**
 * `ssh-egress status`: the running daemon's tunnels from its admin /status. Exit status 0 when the daemon
 * says it is ready (its readiness.readyFraction of tunnels READY, as /readyz), 1 when it is not, 2 when it
 * cannot be asked (not running, wrong address) or the command line is wrong.
 */
export function statusCommand(setExitCode: (code: number) => void): Command {
  return new Command('status')
    .description(COMMAND_SUMMARIES.status)
    .option('--admin <url>', `the daemon's admin address (default: listeners.admin from --config, else http://${ADMIN_DEFAULTS.host}:${ADMIN_DEFAULTS.port})`)
    .option('--config <file>', 'the daemon\'s config file, to find its admin address')
    .addOption(new Option('-o, --output <format>', 'table, wide, or json (the daemon\'s /status as it is)').choices(['table', 'wide', 'json']).default('table'))
    .addOption(new Option('--timeout <ms>', 'how long to wait for the daemon').argParser(positiveInt).default(5000))
    .addHelpText(
      'after',
      `
Exit status: 0 the daemon is ready (as its /readyz: readiness.readyFraction of the tunnels READY),
1 it is not ready, 2 it cannot be reached (not running, wrong address) or a usage error.

Examples:
  ssh-egress status
  ssh-egress status --admin 127.0.0.1:9132 -o wide
  ssh-egress status --config /etc/ssh-egress/ssh-egress.yaml -o json | jq '.tunnels[] | select(.state != "READY")'
  until ssh-egress status >/dev/null; do sleep 1; done   # wait for readiness`,
    )
    .action(async (flags: StatusFlags) => {
      try {
        const url = adminStatusUrl(flags.admin ?? (await adminFromConfig(flags.config)));
        const { body, status } = await fetchAdminStatus(url, flags.timeout);
        if (flags.output === 'json') {
          process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
        } else {
          const colours = paletteFor(process.stdout);
          const table = flags.output === 'wide' ? renderStatusWideTable(status, colours) : renderStatusTable(status, colours);
          const inventory = inventorySummary(status, colours);
          process.stdout.write(`${table}\n${inventory === undefined ? '' : `${inventory}\n`}${statusSummary(status)}\n`);
        }
        setExitCode(status.ready.ready ? EXIT.OK : EXIT.FAILED);
      } catch (err) {
        process.stderr.write(`ssh-egress status: ${(err as Error).message}\n`);
        setExitCode(err instanceof AdminUnreachableError || err instanceof TypeError ? EXIT.USAGE : exitStatusFor(err));
      }
    });
}

/** The config's admin listener; a wildcard listen address is asked on loopback. */
async function adminFromConfig(file: string | undefined): Promise<string> {
  const admin = file === undefined ? undefined : (await loadConfig(file)).listeners.admin;
  const host = admin?.host === '0.0.0.0' ? '127.0.0.1' : admin?.host === '::' ? '::1' : (admin?.host ?? ADMIN_DEFAULTS.host);
  return `http://${isIPv6(host) ? `[${host}]` : host}:${admin?.port ?? ADMIN_DEFAULTS.port}`;
}
