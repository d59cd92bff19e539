/**
 * One look at the cluster's nodes, for one-shot commands (`ssh-egress dial --kubeconfig ...`): list once
 * (with a quick retry for transient failures), map, and warn about the nodes left out. A consistent read, as
 * kubectl's: a command run once should see the latest nodes, not a watch cache's.
 */
import pRetry from 'p-retry';
import { EgressError, InventoryError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { apiServerOf, loadKubeConfig } from './kube-config.js';
import { describeApiError, statusCodeOf } from './kube-errors.js';
import { nodeListWatch } from './client-node-list-watch.js';
import type { KubernetesInventorySettings } from './kube-settings.js';
import { mapNodes } from './node-mapping.js';

export interface ListKubeNodesOptions {
  logger?: Logger;
  /** Per attempt. Default 30000 ms. */
  timeoutMs?: number;
  /** Retries after the first attempt, for 5xx, 429 and network errors. Default 2. */
  retries?: number;
}

/** The nodes the settings select, as NodeSpecs. Throws ConfigError (kubeconfig) or InventoryError (the API). */
export async function listKubeNodes(settings: KubernetesInventorySettings, options: ListKubeNodesOptions = {}): Promise<NodeSpec[]> {
  const log = (options.logger ?? silentLogger()).child({ component: 'kube' });
  const kc = await loadKubeConfig(settings);
  const source = `Kubernetes API ${apiServerOf(kc)}`;
  const listWatch = nodeListWatch(kc, settings.labelSelector);
  let result;
  try {
    result = await pRetry(() => listWatch.list(AbortSignal.timeout(options.timeoutMs ?? 30_000), ''), {
      retries: options.retries ?? 2,
      minTimeout: 300,
      // A client error (bad selector, no permission) will not improve by asking again.
      shouldRetry: ({ error }) => {
        const code = statusCodeOf(error);
        return code === undefined || code === 429 || code >= 500;
      },
    });
  } catch (err) {
    const code = statusCodeOf(err);
    const problem = `cannot list nodes: ${describeApiError(err)}`;
    // Refused (credentials, permissions, a bad selector) is the setup's fault: an InventoryError, exit 2.
    // An API that is down or failing is an operation that failed: exit 1.
    if (code !== undefined && code >= 400 && code < 500 && code !== 408 && code !== 429) throw new InventoryError(source, '', problem, { cause: err });
    throw new EgressError('ERR_INVENTORY', `${source}: ${problem}`, { cause: err });
  }
  const objects = new Map<string, unknown>();
  for (const item of result.items) {
    const name = (item as { metadata?: { name?: unknown } }).metadata?.name;
    if (typeof name === 'string') objects.set(name, item);
  }
  const mapped = mapNodes(objects, new Map(), { ...settings, source });
  for (const [node, problem] of mapped.problems) log.warn(`node ${node}: ${problem}`, { node });
  if (mapped.notReady.length) log.info('nodes not Ready left out (readyOnly)', { nodes: mapped.notReady });
  return mapped.nodes;
}
