/**
 * Loads the KubeConfig the inventory talks to the API with: a kubeconfig file, the pod's service account,
 * or kubectl's default rules. Problems are ConfigErrors naming the setting, found at startup rather than
 * at the first failed list.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ConfigError } from '../errors.js';
import { loadClientNode } from './client-node-module.js';
import type { KubeConfigShape } from './kube-config-shape.js';
import type { KubernetesInventorySettings } from './kube-settings.js';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const FIELD = 'inventory.kubernetes';

export type KubeConfigSource = Pick<KubernetesInventorySettings, 'kubeconfig' | 'context' | 'inCluster'>;

/** Rejects with MissingPackageError when @kubernetes/client-node is not installed. */
export async function loadKubeConfig(settings: KubeConfigSource): Promise<KubeConfigShape> {
  const kc = new (await loadClientNode()).KubeConfig();
  if (settings.inCluster) {
    if (settings.kubeconfig !== undefined) throw new ConfigError(`${FIELD}.inCluster`, 'give kubeconfig or inCluster, not both');
    loadInCluster(kc);
  } else if (settings.kubeconfig !== undefined) {
    loadFile(kc, settings.kubeconfig);
  } else {
    loadDefault(kc);
  }
  if (settings.context !== undefined) useContext(kc, settings.context);
  if (!kc.getCurrentCluster()) {
    const context = kc.getCurrentContext();
    throw new ConfigError(`${FIELD}.context`, context ? `context ${JSON.stringify(context)} names no cluster in the kubeconfig` : 'the kubeconfig has no current-context: give one with context (or --context)');
  }
  return kc;
}

/** The API server a KubeConfig points at, for messages. */
export function apiServerOf(kc: KubeConfigShape): string {
  return kc.getCurrentCluster()?.server ?? '(no cluster)';
}

/** The kubeconfig files these settings read, so a reload can tell whether their content changed. */
export function kubeconfigFiles(settings: KubeConfigSource): string[] {
  if (settings.inCluster) return [];
  if (settings.kubeconfig !== undefined) return [settings.kubeconfig];
  const fromEnv = process.env.KUBECONFIG?.split(path.delimiter).filter(Boolean) ?? [];
  return fromEnv.length > 0 ? fromEnv : [path.join(homedir(), '.kube', 'config')];
}

function loadFile(kc: KubeConfig, file: string): void {
  try {
    kc.loadFromFile(file);
  } catch (err) {
    throw new ConfigError(`${FIELD}.kubeconfig`, `cannot load ${file}: ${describeLoadError(err)}`, { cause: err });
  }
}

function loadInCluster(kc: KubeConfig): void {
  const host = process.env.KUBERNETES_SERVICE_HOST;
  const port = process.env.KUBERNETES_SERVICE_PORT;
  // loadFromCluster would otherwise build "https://undefined:undefined" and fail much later.
  if (!host || !port) {
    throw new ConfigError(`${FIELD}.inCluster`, 'KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set: not running in a pod?');
  }
  kc.loadFromCluster();
}

/** kubectl's rules: $KUBECONFIG, ~/.kube/config, the service account; never client-node's http://localhost:8080 fallback. */
function loadDefault(kc: KubeConfig): void {
  const fromEnv = process.env.KUBECONFIG?.split(path.delimiter).filter(Boolean) ?? [];
  const home = path.join(homedir(), '.kube', 'config');
  if (fromEnv.length > 0 || existsSync(home)) {
    try {
      kc.loadFromDefault();
    } catch (err) {
      const files = fromEnv.length > 0 ? fromEnv.join(path.delimiter) : home;
      throw new ConfigError(FIELD, `cannot load ${files}: ${describeLoadError(err)}`, { cause: err });
    }
    return;
  }
  if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    loadInCluster(kc);
    return;
  }
  throw new ConfigError(FIELD, 'no kubeconfig: give inventory.kubernetes.kubeconfig (or --kubeconfig), set $KUBECONFIG, create ~/.kube/config, or run in a pod with inCluster: true');
}

function useContext(kc: KubeConfig, context: string): void {
  if (!kc.getContextObject(context)) {
    const known = kc.getContexts().map((c) => c.name);
    throw new ConfigError(`${FIELD}.context`, `no context ${JSON.stringify(context)} in the kubeconfig (it has ${known.length ? known.join(', ') : 'none'})`);
  }
  kc.setCurrentContext(context);
}

function describeLoadError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/** The kubeconfig text, for fingerprints; undefined when it cannot be read. */
export function readIfPresent(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
