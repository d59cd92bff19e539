/**
 * Command-line flags over the config: applyFlags() overrides a loaded file, configFromFlags() builds a
 * whole config from flags alone (enough for the CLI). Values go through the file's own rules (the same
 * schemas), so the words match; errors name the flag.
 */
import type { z } from 'zod';
import { DIALER_DEFAULTS } from '../dialer/dialer-options.js';
import { ConfigError } from '../errors.js';
import { POOL_DEFAULTS } from '../tunnel/pool-options.js';
import { HEALTH_CHECK_DEFAULTS } from '../tunnel/health-check-options.js';
import { oneOf } from '../util/zod-rule.js';
import { CONFIG_DEFAULTS, checkSocketPaths } from './config-from-file.js';
import { adminExposureOf, plainConnectExposure, socksExposure } from '../frontends/listener-exposure.js';
import { listenRule } from './config-schema.js';
import type { EgressConfig, ListenerSettings } from './config-types.js';
import { DEFAULT_USER, LOG_FORMATS, LOG_LEVELS, resolvePath } from './config-values.js';
import type { HostPort } from '../net/listen-address.js';
import { cidrRule, durationMsRule, filePathRule, userNameRule } from '../options/option-rules.js';
import { tunnelModeRule } from '../nodes/inventory-schema.js';
import { parseOptions } from '../options/parse-options.js';

/** Flag values by commander's camelCase names, so a command's parsed options can be passed as they are. */
export interface ConfigFlags {
  inventory?: string;
  /** The nodes from the Kubernetes API, through this kubeconfig (keeps the file's other inventory.kubernetes settings). */
  kubeconfig?: string;
  /** A kubeconfig context; alone (without a Kubernetes inventory in the file) it uses kubectl's default kubeconfig. */
  context?: string;
  user?: string;
  identity?: string;
  knownHosts?: string;
  trustOnFirstUse?: string;
  /** Replaces cluster.serviceCIDRs when given. */
  serviceCidr?: string[];
  /** Sets both ssh.connectTimeoutMs and ssh.handshakeTimeoutMs. */
  connectTimeout?: number;
  connectSocket?: string;
  connectListen?: string;
  tlsCert?: string;
  tlsKey?: string;
  clientCa?: string;
  socksListen?: string;
  adminListen?: string;
  /** The node agents' SSH listener (reverse tunnels), with its host key file and trusted user CAs. */
  agentListen?: string;
  agentHostKey?: string;
  agentUserCa?: string;
  /** healthCheck.caFile, certFile and keyFile: kube-apiserver's --kubelet-certificate-authority and client pair. */
  kubeletCa?: string;
  kubeletClientCert?: string;
  kubeletClientKey?: string;
  /** ssh.tunnel: the direction of nodes that set none (forward, reverse, auto). */
  tunnel?: string;
  logLevel?: string;
  logFormat?: string;
}

export const COMMAND_LINE = 'command line';
export { DEFAULT_USER };

/** A config from flags alone; the inventory (`--inventory`, or `--kubeconfig` / `--context`) is the one thing without a default. */
export function configFromFlags(flags: ConfigFlags): EgressConfig {
  if (flags.inventory === undefined && flags.kubeconfig === undefined && flags.context === undefined) {
    throw new ConfigError('--inventory', 'is required (or give --config with an inventory section, or --kubeconfig to take the nodes from the Kubernetes API)');
  }
  const base: EgressConfig = {
    source: COMMAND_LINE,
    ssh: { user: DEFAULT_USER },
    healthCheck: {},
    inventory: { kind: 'file', path: '' },
    serviceCIDRs: [],
    policy: {},
    dialTimeoutMs: DIALER_DEFAULTS.dialTimeoutMs,
    listeners: {},
    readyFraction: CONFIG_DEFAULTS.readyFraction,
    drainGraceMs: POOL_DEFAULTS.drainGraceMs,
    log: {},
  };
  return applyFlags(base, flags);
}

/** A copy of `config` with every given flag applied; relative paths in flags are taken from the working directory. */
export function applyFlags(config: EgressConfig, flags: ConfigFlags): EgressConfig {
  const next = structuredClone(config);
  const ssh = next.ssh;
  if (flags.inventory !== undefined) {
    if (flags.kubeconfig !== undefined || flags.context !== undefined) {
      throw new ConfigError(flags.kubeconfig !== undefined ? '--kubeconfig' : '--context', 'cannot be combined with --inventory: the nodes come from a file or from the Kubernetes API');
    }
    const addressTypes = config.inventory.kind === 'file' ? config.inventory.addressTypes : undefined;
    next.inventory = { kind: 'file', path: filePath(flags.inventory, '--inventory'), ...(addressTypes && { addressTypes }) };
  }
  applyKubernetesFlags(next, flags, config);
  if (flags.user !== undefined) ssh.user = flagValue(userNameRule, flags.user, '--user');
  if (flags.identity !== undefined) ssh.identityFile = filePath(flags.identity, '--identity');
  if (flags.knownHosts !== undefined) ssh.knownHostsFile = filePath(flags.knownHosts, '--known-hosts');
  if (flags.trustOnFirstUse !== undefined) {
    if (ssh.insecureIgnoreHostKeys) {
      throw new ConfigError('--trust-on-first-use', `cannot be combined with ssh.insecureIgnoreHostKeys in ${config.source}: choose one way to trust host keys`);
    }
    ssh.trustOnFirstUseFile = filePath(flags.trustOnFirstUse, '--trust-on-first-use');
  }
  if (flags.tunnel !== undefined) ssh.tunnel = flagValue(tunnelModeRule, flags.tunnel, '--tunnel');
  if (flags.connectTimeout !== undefined) {
    ssh.connectTimeoutMs = flagValue(durationMsRule, flags.connectTimeout, '--connect-timeout');
    ssh.handshakeTimeoutMs = flags.connectTimeout;
  }
  applyKubeletTlsFlags(next, flags, config.source);
  if (flags.serviceCidr !== undefined) next.serviceCIDRs = flags.serviceCidr.map((c) => flagValue(cidrRule, c, '--service-cidr'));
  applyListenerFlags(next.listeners, flags, config.source);
  checkSocketPaths(next, '', { connect: '--connect-socket', socks: 'listeners.socks.socket.path' });
  if (flags.logLevel !== undefined) next.log.level = flagValue(oneOf(LOG_LEVELS), flags.logLevel, '--log-level');
  if (flags.logFormat !== undefined) next.log.format = flagValue(oneOf(LOG_FORMATS), flags.logFormat, '--log-format');
  return next;
}

/** --kubeconfig and --context make (or adjust) a Kubernetes inventory, keeping the file's other settings for it. */
function applyKubernetesFlags(next: EgressConfig, flags: ConfigFlags, config: EgressConfig): void {
  if (flags.kubeconfig === undefined && flags.context === undefined) return;
  const current = config.inventory.kind === 'kubernetes' ? config.inventory : undefined;
  // A file's own inventory is replaced by --kubeconfig, never silently by --context alone.
  if (!current && flags.kubeconfig === undefined && config.source !== COMMAND_LINE) {
    throw new ConfigError('--context', `applies to a Kubernetes inventory: give --kubeconfig too (${config.source} has inventory.${config.inventory.kind})`);
  }
  const settings: Extract<EgressConfig['inventory'], { kind: 'kubernetes' }> = { ...(current ?? { kind: 'kubernetes' }) };
  if (flags.kubeconfig !== undefined) {
    settings.kubeconfig = filePath(flags.kubeconfig, '--kubeconfig');
    delete settings.inCluster;
  }
  if (flags.context !== undefined) {
    if (flags.context.trim() === '' || /[\n\r]/.test(flags.context)) throw new ConfigError('--context', `${JSON.stringify(flags.context)} is not a context name`);
    if (settings.inCluster) throw new ConfigError('--context', `${config.source} uses inventory.kubernetes.inCluster, which has no contexts: give --kubeconfig too`);
    settings.context = flags.context;
  }
  next.inventory = settings;
}

function applyListenerFlags(listeners: ListenerSettings, flags: ConfigFlags, source: string): void {
  if (flags.connectSocket !== undefined) {
    const connect = (listeners.connect ??= {});
    connect.socket = { path: filePath(flags.connectSocket, '--connect-socket'), mode: connect.socket?.mode ?? CONFIG_DEFAULTS.socketMode };
  }
  applyConnectListen(listeners, flags, source);
  applyAgentListener(listeners, flags, source);
  if (flags.socksListen !== undefined) {
    const socks = (listeners.socks ??= {});
    socks.tcp = hostPort(flags.socksListen, '--socks-listen');
    const exposure = socksExposure(socks.tcp, socks.users?.length ?? 0);
    if (exposure) throw new ConfigError('--socks-listen', exposure);
  }
  if (flags.adminListen !== undefined) {
    const admin = { ...listeners.admin, ...hostPort(flags.adminListen, '--admin-listen') };
    const exposure = adminExposureOf(admin, admin.allowNonLoopback);
    if (exposure) throw new ConfigError('--admin-listen', exposure);
    listeners.admin = admin;
  }
}

/**
 * --connect-listen is mutual TLS when TLS is configured (--tls-cert/--tls-key/--client-ca, or
 * listeners.connect.tls in the file): it then needs all three files. Without any of them it is plain CONNECT,
 * which (as listeners.connect.listen in the file) only loopback may serve.
 */
function applyConnectListen(listeners: ListenerSettings, flags: ConfigFlags, source: string): void {
  const files = {
    certFile: flags.tlsCert === undefined ? undefined : filePath(flags.tlsCert, '--tls-cert'),
    keyFile: flags.tlsKey === undefined ? undefined : filePath(flags.tlsKey, '--tls-key'),
    clientCAFile: flags.clientCa === undefined ? undefined : filePath(flags.clientCa, '--client-ca'),
  };
  const given = Object.values(files).some((f) => f !== undefined);
  if (flags.connectListen === undefined && !given) return;
  const current = listeners.connect?.tls;
  if (flags.connectListen !== undefined && !given && !current) {
    const tcp = hostPort(flags.connectListen, '--connect-listen');
    const exposure = plainConnectExposure(tcp, 'give --tls-cert, --tls-key and --client-ca for mutual TLS, or use --connect-socket');
    if (exposure) throw new ConfigError('--connect-listen', exposure);
    (listeners.connect ??= {}).tcp = tcp;
    return;
  }
  const address = flags.connectListen === undefined ? current : hostPort(flags.connectListen, '--connect-listen');
  if (!address) {
    const flag = flags.tlsCert !== undefined ? '--tls-cert' : flags.tlsKey !== undefined ? '--tls-key' : '--client-ca';
    throw new ConfigError(flag, `only applies with --connect-listen (or listeners.connect.tls in ${source})`);
  }
  const certFile = files.certFile ?? current?.certFile;
  const keyFile = files.keyFile ?? current?.keyFile;
  const clientCAFile = files.clientCAFile ?? current?.clientCAFile;
  if (certFile === undefined || keyFile === undefined || clientCAFile === undefined) {
    const missing = (
      [
        ['--tls-cert', certFile],
        ['--tls-key', keyFile],
        ['--client-ca', clientCAFile],
      ] as const
    )
      .filter(([, file]) => file === undefined)
      .map(([flag]) => flag);
    throw new ConfigError('--connect-listen', `mutual TLS needs ${missing.join(', ')} (or listeners.connect.tls in a config file)`);
  }
  (listeners.connect ??= {}).tls = { host: address.host, port: address.port, certFile, keyFile, clientCAFile };
}

/** --agent-listen needs a host key file, from the file or --agent-host-key; the flags override the file's. */
function applyAgentListener(listeners: ListenerSettings, flags: ConfigFlags, source: string): void {
  const hostKeyFile = flags.agentHostKey === undefined ? undefined : filePath(flags.agentHostKey, '--agent-host-key');
  const userCAFile = flags.agentUserCa === undefined ? undefined : filePath(flags.agentUserCa, '--agent-user-ca');
  if (flags.agentListen === undefined && hostKeyFile === undefined && userCAFile === undefined) return;
  const current = listeners.agents;
  const address = flags.agentListen === undefined ? current : hostPort(flags.agentListen, '--agent-listen');
  if (!address) {
    throw new ConfigError(hostKeyFile !== undefined ? '--agent-host-key' : '--agent-user-ca', `only applies with --agent-listen (or listeners.agents in ${source})`);
  }
  const keyFile = hostKeyFile ?? current?.hostKeyFile;
  if (keyFile === undefined) throw new ConfigError('--agent-listen', 'needs --agent-host-key <file> (created on first start when missing)');
  const caFile = userCAFile ?? current?.userCAFile;
  listeners.agents = { host: address.host, port: address.port, hostKeyFile: keyFile, ...(caFile !== undefined && { userCAFile: caFile }) };
}

/** --kubelet-ca, --kubelet-client-cert and --kubelet-client-key set the health check's files, as the config keys do. */
function applyKubeletTlsFlags(next: EgressConfig, flags: ConfigFlags, source: string): void {
  const check = next.healthCheck;
  const given = (
    [
      ['--kubelet-ca', flags.kubeletCa, 'caFile'],
      ['--kubelet-client-cert', flags.kubeletClientCert, 'certFile'],
      ['--kubelet-client-key', flags.kubeletClientKey, 'keyFile'],
    ] as const
  ).filter(([, value]) => value !== undefined);
  if (given.length === 0) return;
  const kind = check.kind ?? HEALTH_CHECK_DEFAULTS.kind;
  for (const [flag, value, field] of given) {
    if (kind !== 'kubelet-https') throw new ConfigError(flag, `only applies to healthCheck.kind kubelet-https (${source} has ${kind})`);
    check[field] = filePath(value!, flag);
  }
  if ((check.certFile === undefined) !== (check.keyFile === undefined)) {
    const missing = check.certFile === undefined ? '--kubelet-client-cert' : '--kubelet-client-key';
    throw new ConfigError(missing, 'give --kubelet-client-cert and --kubelet-client-key together (or healthCheck.certFile and keyFile)');
  }
}

/** One flag's value through the rule its config field has; a ConfigError names the flag. */
function flagValue<S extends z.ZodType>(schema: S, value: unknown, flag: string): z.output<S> {
  return parseOptions(schema, value, { root: flag });
}

function hostPort(text: string, flag: string): HostPort {
  return flagValue(listenRule, text, flag);
}

function filePath(text: string, flag: string): string {
  return resolvePath(flagValue(filePathRule, text, flag), process.cwd());
}
