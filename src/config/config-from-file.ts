/**
 * Turns the validated file into the EgressConfig everything else uses: relative paths resolved against
 * the file's directory, defaults filled, the policy checked by the dialer's own compiler.
 */
import { compilePolicy, type DestinationPolicyOptions } from '../dialer/policy-options.js';
import { ConfigError, InventoryError } from '../errors.js';
import { assertUniqueNodes } from '../nodes/inventory-schema.js';
import type { ConfigFile } from './config-schema.js';
import { configError, configErrorFromInventory } from './config-error.js';
import type { EgressConfig, InventorySource, ListenerSettings } from './config-types.js';
import { MAX_SOCKET_PATH_BYTES, resolvePath } from './config-values.js';

export const CONFIG_DEFAULTS = {
  dialTimeoutMs: 10_000,
  readyFraction: 0.5,
  drainGraceMs: 30_000,
  socketMode: 0o600,
  admin: { host: '127.0.0.1', port: 8132 },
} as const;

export function egressConfigFromFile(file: ConfigFile, source: string, baseDir: string): EgressConfig {
  const at = (p: string): string => resolvePath(p, baseDir);
  const optionalPath = (p: string | undefined): string | undefined => (p === undefined ? undefined : at(p));
  const { caFile, certFile, keyFile, ...check } = file.healthCheck ?? {};
  const ssh = file.ssh;
  const config: EgressConfig = {
    source,
    ssh: defined({
      ...ssh,
      identityFile: optionalPath(ssh.identityFile),
      passphraseFile: optionalPath(ssh.passphraseFile),
      agentSocket: optionalPath(ssh.agentSocket),
      knownHostsFile: optionalPath(ssh.knownHostsFile),
      trustOnFirstUseFile: optionalPath(ssh.trustOnFirstUseFile),
    }),
    healthCheck: defined({ ...check, caFile: optionalPath(caFile), certFile: optionalPath(certFile), keyFile: optionalPath(keyFile) }),
    inventory: inventorySource(file.inventory, at, source),
    serviceCIDRs: file.cluster?.serviceCIDRs ?? [],
    // Rule syntax is left to compilePolicy (checkPolicy below), so the cast only names what it accepts.
    policy: defined({ allow: file.policy?.allow, nodePorts: file.policy?.nodePorts }) as DestinationPolicyOptions,
    dialTimeoutMs: file.dial?.timeoutMs ?? CONFIG_DEFAULTS.dialTimeoutMs,
    ...(file.limits && { limits: defined(file.limits) }),
    listeners: listenerSettings(file.listeners, at),
    readyFraction: file.readiness?.readyFraction ?? CONFIG_DEFAULTS.readyFraction,
    drainGraceMs: file.drain?.graceMs ?? CONFIG_DEFAULTS.drainGraceMs,
    log: defined({ level: file.log?.level, format: file.log?.format }),
  };
  checkPolicy(config, source);
  checkSocketPaths(config, source);
  return config;
}

function inventorySource(inventory: ConfigFile['inventory'], at: (p: string) => string, source: string): InventorySource {
  if (inventory.kubernetes !== undefined) {
    const { kubeconfig, ...rest } = inventory.kubernetes;
    return defined({ kind: 'kubernetes' as const, ...rest, kubeconfig: kubeconfig === undefined ? undefined : at(kubeconfig) });
  }
  if (inventory.file !== undefined) {
    return { kind: 'file', path: at(inventory.file), ...(inventory.addressTypes && { addressTypes: inventory.addressTypes }) };
  }
  const nodes = inventory.nodes ?? [];
  try {
    assertUniqueNodes(nodes, source, { collection: 'inventory.nodes', nameField: ['name'], addressField: ['address'] });
  } catch (err) {
    throw err instanceof InventoryError ? configErrorFromInventory(err, source) : err;
  }
  return { kind: 'inline', nodes };
}

function listenerSettings(listeners: ConfigFile['listeners'], at: (p: string) => string): ListenerSettings {
  const socket = (s: { path: string; mode?: number | undefined } | undefined) =>
    s && { path: at(s.path), mode: s.mode ?? CONFIG_DEFAULTS.socketMode };
  const { connect, socks, admin } = listeners ?? {};
  const tls = connect?.tls;
  return defined({
    connect:
      connect &&
      defined({
        socket: socket(connect.socket),
        tcp: connect.listen,
        tls: tls && { ...tls.listen, certFile: at(tls.certFile), keyFile: at(tls.keyFile), clientCAFile: at(tls.clientCAFile) },
      }),
    socks:
      socks &&
      defined({
        tcp: socks.listen,
        socket: socket(socks.socket),
        users: socks.users?.map((u) => defined({ username: u.username, passwordFile: u.passwordFile && at(u.passwordFile), passwordEnv: u.passwordEnv })),
      }),
    admin: admin && defined({ ...(admin.listen ?? CONFIG_DEFAULTS.admin), allowNonLoopback: admin.allowNonLoopback }),
  });
}

/** The dialer refuses a bad policy at construction; checking here moves that to load time, with the file named. */
export function checkPolicy(config: EgressConfig, source: string): void {
  try {
    compilePolicy(config.policy, undefined);
  } catch (err) {
    if (err instanceof ConfigError) throw configError(source, err.path, err.path ? err.message.slice(err.path.length + 2) : err.message);
    throw err;
  }
}

/** A path too long for sun_path fails at listen() with a bare ENAMETOOLONG or EINVAL; say which one. */
export function checkSocketPaths(config: EgressConfig, source: string, names = SOCKET_FIELDS): void {
  const { connect, socks } = config.listeners;
  for (const [socket, field] of [[connect?.socket, names.connect], [socks?.socket, names.socks]] as const) {
    if (socket && Buffer.byteLength(socket.path) > MAX_SOCKET_PATH_BYTES) {
      throw configError(source, field, `${socket.path} is longer than a Unix socket path may be (${MAX_SOCKET_PATH_BYTES} bytes)`);
    }
  }
}

const SOCKET_FIELDS = { connect: 'listeners.connect.socket.path', socks: 'listeners.socks.socket.path' };

/**
 * Drops keys whose value is undefined: the pool spreads its defaults under the options, so an explicit
 * undefined would replace a default.
 */
export function defined<T extends object>(value: T): Defined<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Defined<T>;
}

/** Keys that may be undefined become optional; the others stay required. */
type Defined<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};
