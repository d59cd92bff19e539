import pLimit from 'p-limit';
import type { NodeSpec } from '../nodes/node-spec.js';
import type { NodeCheckResult } from './check-result.js';
import { checkNode, type NodeCheckOptions } from './check-node.js';

export interface CheckProgress {
  done: number;
  failed: number;
  total: number;
}

export interface CheckNodesOptions extends NodeCheckOptions {
  /**
   * Nodes checked at once. Each node gets one connection, so a node's sshd (MaxStartups) never sees more
   * than one handshake from us; the bound is for our own sockets and CPU.
   */
  concurrency: number;
  /** Called after each node finishes, for a progress line. */
  onProgress?: (progress: CheckProgress, result: NodeCheckResult) => void;
}

/** Checks every node with bounded concurrency; results come back in the order of `nodes`. */
export async function checkNodes(nodes: readonly NodeSpec[], options: CheckNodesOptions): Promise<NodeCheckResult[]> {
  const limit = pLimit(options.concurrency);
  const progress: CheckProgress = { done: 0, failed: 0, total: nodes.length };
  return Promise.all(
    nodes.map((node) =>
      limit(async () => {
        const result = await checkNode(node, options);
        progress.done += 1;
        if (!result.ok) progress.failed += 1;
        options.onProgress?.({ ...progress }, result);
        return result;
      }),
    ),
  );
}
