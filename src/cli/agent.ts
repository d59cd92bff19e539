import { Command, InvalidArgumentError, Option } from 'commander';
import { NodeAgent } from '../agent/node-agent.js';
import { parseServerAddress, SERVER_EXAMPLE } from '../agent/server-address.js';
import { LOG_FORMATS, LOG_LEVELS } from '../config/config-values.js';
import { allowRuleText } from '../dialer/policy-options.js';
import { createLogger } from '../log.js';
import { isCidr } from '../net/cidr.js';
import { isDns1123Subdomain } from '../net/hostname.js';
import { notCidr } from '../options/option-rules.js';
import { positiveInt } from './connection-options.js';
import { COMMAND_SUMMARIES } from './command-summaries.js';
import { reportFailure } from './command-failure.js';

interface AgentFlags {
  server: string[];
  name: string;
  identity: string;
  knownHosts: string;
  allow?: string[];
  podCidr?: string[];
  serviceCidr?: string[];
  connectTimeout?: number;
  keepaliveInterval?: number;
  keepaliveCountMax?: number;
  dialTimeout?: number;
  resolveInterval?: number;
  logLevel: string;
  logFormat: 'json' | 'text';
}

/** A repeatable flag whose every value is checked as it is read, so the error names the flag. */
function repeatable(check: (value: string) => string | undefined) {
  return (value: string, previous: string[] | undefined): string[] => {
    const problem = check(value);
    if (problem !== undefined) throw new InvalidArgumentError(problem);
    return [...(previous ?? []), value];
  };
}

const serverValue = repeatable((v) => (parseServerAddress(v) ? undefined : `not ${SERVER_EXAMPLE}`));
const cidrValue = repeatable((v) => (isCidr(v) ? undefined : `not ${notCidr(v)}`));
const allowValue = repeatable((v) => {
  const parsed = allowRuleText.safeParse(v);
  return parsed.success ? undefined : `${parsed.error.issues[0]?.message ?? 'not a rule'}; expected "cidr" or "cidr:ports" (e.g. 10.0.0.0/8:443,8000-8100)`;
});

function nodeName(value: string): string {
  if (!isDns1123Subdomain(value)) throw new InvalidArgumentError('not a node name (a lower-case DNS-1123 subdomain, as Kubernetes names nodes)');
  return value;
}

/** `ssh-egress agent`: the node side of reverse tunnels, for nodes the control plane cannot connect to. */
export function agentCommand(setExitCode: (code: number) => void): Command {
  const command = new Command('agent')
    .description(COMMAND_SUMMARIES.agent)
    .addOption(new Option('--server <host:port>', 'a daemon\'s agent listener (repeatable; a name means every address it resolves to)').argParser(serverValue).makeOptionMandatory())
    .addOption(new Option('--name <node>', 'this node\'s name in the daemon\'s inventory (the SSH user)').env('NODE_NAME').argParser(nodeName).makeOptionMandatory())
    .addOption(new Option('-i, --identity <file>', 'the agent\'s private key (0600)').makeOptionMandatory())
    .addOption(new Option('--known-hosts <file>', 'the daemons\' agent host keys, as "[host]:port key" lines').makeOptionMandatory())
    .option('--allow <cidr[:ports]>', 'what the daemon may reach through this node (repeatable); replaces the default below', allowValue)
    .option('--pod-cidr <cidr>', 'pod range the daemon may reach, besides this node\'s addresses (repeatable)', cidrValue)
    .option('--service-cidr <cidr>', 'service ClusterIP range the daemon may reach (repeatable)', cidrValue)
    .addOption(new Option('--connect-timeout <ms>', 'TCP connect timeout to a daemon (default 10000)').argParser(positiveInt))
    .addOption(new Option('--keepalive-interval <ms>', 'SSH keepalive towards each daemon (default 10000)').argParser(positiveInt))
    .addOption(new Option('--keepalive-count-max <n>', 'unanswered keepalives before a daemon counts as gone (default 3)').argParser(positiveInt))
    .addOption(new Option('--dial-timeout <ms>', 'name lookup and connect on the node, per stream (default 8000)').argParser(positiveInt))
    .addOption(new Option('--resolve-interval <ms>', 'how often server names are looked up again (default 30000)').argParser(positiveInt))
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'log format').choices(LOG_FORMATS).default('json'))
    .addHelpText(
      'after',
      `
What the daemon may reach: by default this node's own addresses (not loopback) on any port, plus the
--pod-cidr and --service-cidr ranges; --allow replaces all of that. Anything else is refused with SOCKS5
reply 2 and logged. Names are resolved on the node and the address they give is what is checked.

HA: give every daemon replica (or one name that resolves to all of them); each gets its own connection
and its own registration, kept up independently (keepalive, reconnect with backoff and jitter).

Signals: SIGTERM or SIGINT closes every connection and exits 0.
Exit status: 0 stopped by a signal, 2 usage error or an unusable key or known_hosts file.

Examples:
  ssh-egress agent --server cp.example:8022 --name node-a -i /etc/ssh-egress/agent_key \\
    --known-hosts /etc/ssh-egress/known_hosts --pod-cidr 10.244.1.0/24 --service-cidr 10.96.0.0/12
  ssh-egress agent --server 10.0.0.5:8022 --server 10.0.0.6:8022 --name node-a -i agent_key \\
    --known-hosts known_hosts --allow 10.0.1.7/32:10250 --allow 10.244.1.0/24
  NODE_NAME=node-a ssh-egress agent --server cp.example:8022 -i agent_key --known-hosts known_hosts`,
    );
  command.action(async (flags: AgentFlags) => {
    try {
      const agent = await NodeAgent.start({
        servers: flags.server,
        nodeName: flags.name,
        identityFile: flags.identity,
        knownHostsFile: flags.knownHosts,
        ...(flags.allow && { allow: flags.allow }),
        ...(flags.podCidr && { podCIDRs: flags.podCidr }),
        ...(flags.serviceCidr && { serviceCIDRs: flags.serviceCidr }),
        ...(flags.connectTimeout !== undefined && { connectTimeoutMs: flags.connectTimeout }),
        ...(flags.keepaliveInterval !== undefined && { keepaliveIntervalMs: flags.keepaliveInterval }),
        ...(flags.keepaliveCountMax !== undefined && { keepaliveCountMax: flags.keepaliveCountMax }),
        ...(flags.dialTimeout !== undefined && { dialTimeoutMs: flags.dialTimeout }),
        ...(flags.resolveInterval !== undefined && { resolveIntervalMs: flags.resolveInterval }),
        logger: createLogger({ level: flags.logLevel, format: flags.logFormat }),
      });
      await untilStopSignal();
      await agent.stop();
    } catch (err) {
      setExitCode(reportFailure('agent', err));
    }
  });
  return command;
}

function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
