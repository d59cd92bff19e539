/**
 * The inventory's health as /status, /readyz and /metrics show it. Plain data: the runtime fills it from
 * whichever inventory runs (a file, the inline list, or the Kubernetes watch).
 */

export type InventorySourceStatus =
  | { kind: 'file'; path: string }
  | { kind: 'inline' }
  /** The API server, and how it was chosen: a kubeconfig file and context, or the pod's service account. */
  | { kind: 'kubernetes'; server?: string; kubeconfig?: string; context?: string; inCluster?: boolean };

/** The body of /status's `inventory`. */
export interface InventoryStatus {
  source: InventorySourceStatus;
  /** The first list is in (a file or inline list: loaded). */
  synced: boolean;
  /** Nodes in the current set. */
  nodes: number;
  /** ISO time the set was last known current: loaded from the file, or a successful list, watch open or event. */
  lastSyncAt: string | undefined;
  /** ISO time of the first failure since then; undefined while the inventory is current. */
  failingSince: string | undefined;
  /** The last failure with its stable code; cleared by the next success. */
  lastError: { code: string; message: string; at: string } | undefined;
  /** The resourceVersion a watch resumes from (kubernetes only). */
  resourceVersion?: string;
  /** Failed list and watch calls so far, by code (kubernetes only). */
  errors: Record<string, number>;
}

/** Where the admin server and metrics read the inventory's health; undefined before there is one. */
export type InventoryStatusSource = () => InventoryStatus | undefined;

/** Seconds since the last sync when the inventory is failing; 0 while it is current. */
export function inventoryStaleSeconds(status: InventoryStatus, now: number = Date.now()): number {
  if (status.failingSince === undefined) return 0;
  const since = Date.parse(status.lastSyncAt ?? status.failingSince);
  return Math.max(0, Math.floor((now - since) / 1000));
}

export interface InventoryReadiness {
  /** False only when staleness is limited and exceeded. */
  ready: boolean;
  /** Failing to sync: the nodes are the last known ones. */
  stale: boolean;
  /** The `inventory` line of /readyz?verbose. */
  line: string;
}

/**
 * Tunnels keep working on a stale inventory, so staleness alone makes the daemon not ready only when
 * `maxStalenessSeconds` is set and exceeded (readiness.maxInventoryStalenessSeconds).
 */
export function inventoryReadiness(status: InventoryStatus, maxStalenessSeconds: number | undefined, now: number = Date.now()): InventoryReadiness {
  const source = describeSource(status.source);
  if (!status.synced) {
    const why = status.lastError ? `: ${status.lastError.code} ${status.lastError.message}` : '';
    return { ready: true, stale: status.lastError !== undefined, line: `inventory: ${source}, not synced yet${why}` };
  }
  const nodes = `${status.nodes} node${status.nodes === 1 ? '' : 's'}`;
  if (status.failingSince === undefined || status.lastError === undefined) {
    const age = status.lastSyncAt === undefined ? '' : ` (last sync ${Math.max(0, Math.floor((now - Date.parse(status.lastSyncAt)) / 1000))}s ago)`;
    return { ready: true, stale: false, line: `inventory: ${source}, ${nodes}, current${age}` };
  }
  const stale = inventoryStaleSeconds(status, now);
  const over = maxStalenessSeconds !== undefined && stale > maxStalenessSeconds;
  const limit = maxStalenessSeconds === undefined ? '' : ` (max ${maxStalenessSeconds}s)`;
  return {
    ready: !over,
    stale: true,
    line: `inventory: ${source}, ${nodes}, STALE for ${stale}s${limit}: ${status.lastError.code} ${status.lastError.message}`,
  };
}

/** "kubernetes https://10.0.0.1:6443", "file /etc/ssh-egress/nodes.yaml", "inline". */
export function describeSource(source: InventorySourceStatus): string {
  switch (source.kind) {
    case 'file':
      return `file ${source.path}`;
    case 'inline':
      return 'inline';
    case 'kubernetes':
      return ['kubernetes', source.server, source.inCluster ? '(in-cluster)' : source.context && `(context ${source.context})`].filter(Boolean).join(' ');
  }
}
