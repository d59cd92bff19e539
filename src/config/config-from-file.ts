/**
 * Turns the validated file into the EgressConfig everything else uses: relative paths resolved against
 * the file's directory, defaults filled (the library's own DEFAULTS where the setting is the library's).
 */
import { ADMIN_DEFAULTS } from '../frontends/admin-server.js';
import { DIALER_DEFAULTS } from '../dialer/dialer-options.js';
import { InventoryError } from '../errors.js';
import { assertUniqueNodes } from '../nodes/inventory-schema.js';
import { POOL_DEFAULTS } from '../tunnel/pool-options.js';
import { defined } from '../util/defined.js';
import type { ConfigFile } from './config-schema.js';
import { configError } from '../options/option-error.js';
import { configErrorFromInventory } from './config-error.js';
import type { EgressConfig, InventorySource, ListenerSettings } from './config-types.js';
import { MAX_SOCKET_PATH_BYTES, resolvePath } from './config-values.js';

/** Defaults of the config's own settings; the rest are the library's (DIALER_DEFAULTS, POOL_DEFAULTS, ADMIN_DEFAULTS). */
export const CONFIG_DEFAULTS = {
  readyFraction: 0.5,
  socketMode: 0o600,
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
    policy: defined({ allow: file.policy?.allow, nodePorts: file.policy?.nodePorts }),
    dialTimeoutMs: file.dial?.timeoutMs ?? DIALER_DEFAULTS.dialTimeoutMs,
    ...(file.limits && { limits: defined(file.limits) }),
    listeners: listenerSettings(file.listeners, at),
    readyFraction: file.readiness?.readyFraction ?? CONFIG_DEFAULTS.readyFraction,
    ...(file.readiness?.maxInventoryStalenessSeconds !== undefined && { maxInventoryStalenessSeconds: file.readiness.maxInventoryStalenessSeconds }),
    drainGraceMs: file.drain?.graceMs ?? POOL_DEFAULTS.drainGraceMs,
    log: defined({ level: file.log?.level, format: file.log?.format }),
  };
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
  const { connect, socks, admin, agents } = listeners ?? {};
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
    admin: admin && defined({ ...(admin.listen ?? ADMIN_DEFAULTS), allowNonLoopback: admin.allowNonLoopback }),
    agents: agents && defined({ ...agents.listen, hostKeyFile: at(agents.hostKeyFile), userCAFile: agents.userCAFile && at(agents.userCAFile) }),
  });
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
