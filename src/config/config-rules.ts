/**
 * Rules across fields of the config file: choices that exclude each other, sections that need one of
 * their parts, listeners that would expose the tunnels. Each throws a ConfigError naming the field.
 */
import type { ConfigFile } from './config-schema.js';
import { configError } from '../options/option-error.js';
import type { EgressConfig } from './config-types.js';
import { adminExposureOf, plainConnectExposure, socksExposure } from '../frontends/listener-exposure.js';

type Fail = (path: string, problem: string) => never;

export function checkConfigRules(file: ConfigFile, source: string): void {
  const fail: Fail = (path, problem) => {
    throw configError(source, path, problem);
  };
  checkHealthCheck(file.healthCheck, fail);
  checkInventory(file.inventory, fail);
  checkListeners(file.listeners, fail);
}

function checkHealthCheck(check: ConfigFile['healthCheck'], fail: Fail): void {
  if (!check) return;
  const kind = check.kind ?? 'kubelet-https';
  if ((check.certFile === undefined) !== (check.keyFile === undefined)) {
    fail(check.certFile === undefined ? 'healthCheck.certFile' : 'healthCheck.keyFile', 'give certFile and keyFile together (the kubelet client certificate and its key)');
  }
  // Settings the chosen kind ignores are mistakes worth pointing out, not defaults to keep quietly.
  for (const field of ['caFile', 'certFile', 'keyFile', 'path'] as const) {
    if (check[field] !== undefined && kind !== 'kubelet-https') fail(`healthCheck.${field}`, `only applies to kind kubelet-https (kind is ${kind})`);
  }
  if (check.port !== undefined && kind !== 'tcp') {
    fail('healthCheck.port', `only applies to kind tcp (kind is ${kind}; kubelet-https uses each node's kubeletPort)`);
  }
}

function checkInventory(inventory: ConfigFile['inventory'], fail: Fail): void {
  const given = [inventory.file, inventory.nodes, inventory.kubernetes].filter((v) => v !== undefined).length;
  if (given !== 1) fail('inventory', `give exactly one of file, nodes or kubernetes${given ? ', not several' : ''}`);
  if (inventory.addressTypes !== undefined) {
    const hint = inventory.kubernetes ? ' (for the API, set inventory.kubernetes.addressTypes)' : '';
    if (inventory.file === undefined) fail('inventory.addressTypes', `only applies to inventory.file (a Kubernetes NodeList)${hint}`);
    if (inventory.addressTypes.length === 0) fail('inventory.addressTypes', 'name at least one address type, e.g. InternalIP');
  }
  const kube = inventory.kubernetes;
  if (kube) {
    if (kube.inCluster && kube.kubeconfig !== undefined) fail('inventory.kubernetes.inCluster', 'give kubeconfig or inCluster, not both');
    if (kube.inCluster && kube.context !== undefined) fail('inventory.kubernetes.context', 'only applies to a kubeconfig, not inCluster');
    if (kube.addressTypes?.length === 0) fail('inventory.kubernetes.addressTypes', 'name at least one address type, e.g. InternalIP');
  }
}

function checkListeners(listeners: ConfigFile['listeners'], fail: Fail): void {
  const { connect, socks, admin } = listeners ?? {};
  if (connect && !connect.socket && !connect.listen && !connect.tls) fail('listeners.connect', 'give socket, listen and/or tls');
  const connectExposure = plainConnectExposure(connect?.listen);
  if (connectExposure) fail('listeners.connect.listen', connectExposure);
  if (socks) {
    if (!socks.listen && !socks.socket) fail('listeners.socks', 'give listen and/or socket');
    const names = new Set<string>();
    socks.users?.forEach((user, i) => {
      const at = `listeners.socks.users[${i}]`;
      if ((user.passwordFile === undefined) === (user.passwordEnv === undefined)) fail(at, 'give exactly one of passwordFile or passwordEnv');
      if (names.has(user.username)) fail(`${at}.username`, `duplicate user ${JSON.stringify(user.username)}`);
      names.add(user.username);
    });
    const exposure = socksExposure(socks.listen, socks.users?.length ?? 0);
    if (exposure) fail('listeners.socks.listen', exposure);
  }
  const adminExposure = adminExposureOf(admin?.listen, admin?.allowNonLoopback);
  if (adminExposure) fail('listeners.admin.listen', adminExposure);
}

/** The daemon serves nothing without a proxy listener; the CLI needs none, so this is a separate check. */
export function assertDaemonListeners(config: EgressConfig): void {
  const { connect, socks } = config.listeners;
  if (connect?.socket || connect?.tcp || connect?.tls || socks?.tcp || socks?.socket) return;
  throw configError(
    config.source,
    'listeners',
    'the daemon needs listeners.connect or listeners.socks (or --connect-socket, --connect-listen, --socks-listen)',
  );
}
