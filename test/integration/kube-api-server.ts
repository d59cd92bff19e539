// A Kubernetes API stand-in on loopback HTTPS: list and watch of cluster-scoped collections (nodes,
// servicecidrs) with the real JSON shapes, resourceVersions, label selectors, paging (and the watch cache's
// answer to resourceVersion=0: everything in one page), bookmarks and 410 Gone, plus the faults a watcher
// must survive (dropped watches, failing requests, the whole server down for a while). Bearer-token auth.
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';

type KubeObject = Record<string, unknown> & { metadata: Record<string, unknown> & { name: string } };

interface HistoryEntry {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  previous: KubeObject | undefined;
}

interface Watcher {
  res: http.ServerResponse;
  selector: Selector;
  bookmarks: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  watch: boolean;
  status: number;
}

/** How a watch from a compacted resourceVersion is refused: an ERROR event (what the watch cache does) or HTTP 410. */
export type GoneAs = 'event' | 'status';

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

const statusObject = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

/** One collection: its objects, its change history (until compacted) and its open watches. */
export class Collection {
  readonly objects = new Map<string, KubeObject>();
  private history: HistoryEntry[] = [];
  private compactedRv = 0;
  readonly watchers = new Set<Watcher>();

  constructor(
    readonly kind: string,
    readonly apiVersion: string,
    private readonly clock: { next(): number; now(): number },
  ) {}

  /** Creates or replaces an object (ADDED or MODIFIED), with a fresh resourceVersion. */
  upsert(object: Record<string, unknown>): void {
    const copy = structuredClone(object) as KubeObject;
    const rv = this.clock.next();
    copy.metadata.resourceVersion = String(rv);
    const previous = this.objects.get(copy.metadata.name);
    this.objects.set(copy.metadata.name, copy);
    this.record({ rv, type: previous ? 'MODIFIED' : 'ADDED', object: copy, previous });
  }

  /** Changes an object in place: `change` edits a copy. */
  modify(name: string, change: (object: KubeObject) => void): void {
    const current = this.objects.get(name);
    if (!current) throw new Error(`no ${this.kind} ${name}`);
    const copy = structuredClone(current);
    change(copy);
    this.upsert(copy);
  }

  remove(name: string): void {
    const previous = this.objects.get(name);
    if (!previous) throw new Error(`no ${this.kind} ${name}`);
    this.objects.delete(name);
    const object = structuredClone(previous);
    const rv = this.clock.next();
    object.metadata.resourceVersion = String(rv);
    this.record({ rv, type: 'DELETED', object, previous });
  }

  /** Forgets the history, as etcd compaction does: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.clock.now();
    this.history = [];
  }

  /** Sends a BOOKMARK at the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): void {
    const event = { type: 'BOOKMARK', object: { kind: this.kind, apiVersion: this.apiVersion, metadata: { resourceVersion: String(this.clock.now()) } } };
    for (const w of this.watchers) if (w.bookmarks) w.res.write(`${JSON.stringify(event)}\n`);
  }

  /** Ends every watch with an ERROR event carrying 410 Expired (as after compaction under a live watch). */
  expireWatches(): void {
    for (const w of this.watchers) {
      w.res.end(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', 'too old resource version') })}\n`);
    }
    this.watchers.clear();
  }

  /** Destroys every watch connection abruptly (a load balancer or API server restart). */
  dropWatches(): void {
    for (const w of this.watchers) w.res.socket?.destroy();
    this.watchers.clear();
  }

  /** `watchCache`: a list with resourceVersion=0 is served from the watch cache, which ignores `limit`. */
  list(res: http.ServerResponse, query: URLSearchParams, watchCache: boolean): number {
    const from = query.get('resourceVersion') ?? '';
    const token = query.get('continue');
    if (token && from !== '') {
      json(res, 400, statusObject(400, 'BadRequest', 'specifying resource version is not allowed when using continue'));
      return 400;
    }
    const selector = parseSelector(query.get('labelSelector'));
    if (!selector) {
      json(res, 400, statusObject(400, 'BadRequest', `unable to parse requirement: ${query.get('labelSelector')}`));
      return 400;
    }
    const all = [...this.objects.values()].filter((o) => selector(labelsOf(o))).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    let start = 0;
    let rv = this.clock.now();
    if (token) {
      const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { rv: number; start: number };
      if (parsed.rv < this.compactedRv) {
        json(res, 410, statusObject(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result.'));
        return 410;
      }
      ({ start, rv } = parsed);
    }
    const fromCache = watchCache && from === '0';
    const limit = (!fromCache && Number(query.get('limit') ?? 0)) || all.length;
    const items = all.slice(start, start + limit);
    const next = start + limit < all.length ? Buffer.from(JSON.stringify({ rv, start: start + limit })).toString('base64') : undefined;
    json(res, 200, {
      kind: `${this.kind}List`,
      apiVersion: this.apiVersion,
      metadata: { resourceVersion: String(rv), ...(next && { continue: next }) },
      items,
    });
    return 200;
  }

  watch(res: http.ServerResponse, query: URLSearchParams, goneAs: GoneAs): number {
    const selector = parseSelector(query.get('labelSelector'));
    if (!selector) {
      json(res, 400, statusObject(400, 'BadRequest', 'unable to parse requirement'));
      return 400;
    }
    const from = query.get('resourceVersion') ?? '';
    const fromRv = Number(from);
    const gone = from !== '' && from !== '0' && fromRv < this.compactedRv;
    if (gone && goneAs === 'status') {
      json(res, 410, statusObject(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`));
      return 410;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    if (gone) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: statusObject(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) })}\n`);
      return 200;
    }
    const watcher: Watcher = { res, selector, bookmarks: query.get('allowWatchBookmarks') === 'true' };
    if (from === '' || from === '0') {
      for (const o of this.objects.values()) if (selector(labelsOf(o))) res.write(`${JSON.stringify({ type: 'ADDED', object: o })}\n`);
    } else {
      for (const entry of this.history) if (entry.rv > fromRv) this.send(watcher, entry);
    }
    this.watchers.add(watcher);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watchers.delete(watcher);
    });
    return 200;
  }

  private record(entry: HistoryEntry): void {
    this.history.push(entry);
    for (const w of this.watchers) this.send(w, entry);
  }

  /** What a watch with a label selector sees: leaving the selection is a DELETED, entering it an ADDED. */
  private send(w: Watcher, entry: HistoryEntry): void {
    const now = entry.type !== 'DELETED' && w.selector(labelsOf(entry.object));
    const before = entry.previous !== undefined && w.selector(labelsOf(entry.previous));
    let type: string | undefined;
    if (entry.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now) type = before ? 'MODIFIED' : 'ADDED';
    else if (before) type = 'DELETED';
    if (type) w.res.write(`${JSON.stringify({ type, object: entry.object })}\n`);
  }
}

type Selector = (labels: Record<string, string>) => boolean;

/** Equality-based selectors: "a", "!a", "a=b", "a==b", "a!=b", comma-separated. undefined when unparseable. */
function parseSelector(text: string | null): Selector | undefined {
  if (!text) return () => true;
  const tests: Selector[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    const m = /^(!?)([\w./-]+)(?:\s*(==|=|!=)\s*([\w.-]*))?$/.exec(part);
    if (!m) return undefined;
    const [, not, key = '', op, value = ''] = m;
    if (not && op) return undefined;
    if (!op) tests.push(not ? (l) => !(key in l) : (l) => key in l);
    else if (op === '!=') tests.push((l) => l[key] !== value);
    else tests.push((l) => l[key] === value);
  }
  return (labels) => tests.every((t) => t(labels));
}

function labelsOf(object: KubeObject): Record<string, string> {
  return (object.metadata.labels as Record<string, string> | undefined) ?? {};
}

export interface KubeApiStandInOptions {
  /** Where to write the CA and the kubeconfig. */
  dir: string;
  goneAs?: GoneAs;
  /** Serve networking.k8s.io/v1 servicecidrs (Kubernetes 1.33+); otherwise 404 as an older server. Default true. */
  serviceCidrApi?: boolean;
  /** Answer resourceVersion=0 lists from a watch cache (one page, `limit` ignored), as a default API server. Default true. */
  watchCache?: boolean;
}

export interface KubeApiStandIn {
  url: string;
  caFile: string;
  kubeconfigFile: string;
  token: string;
  nodes: Collection;
  serviceCIDRs: Collection;
  requests: RequestRecord[];
  /** The next `count` requests whose path starts with `prefix` are answered with `status`. */
  failNext(count: number, status: number, prefix?: string): void;
  goneAs: GoneAs;
  serviceCidrApi: boolean;
  watchCache: boolean;
  /** The server goes away: open connections are cut and new ones refused (ECONNREFUSED) until up(). */
  down(): Promise<void>;
  /** The server listens again on the same address. */
  up(): Promise<void>;
  /** List requests (not watches) for a path so far. */
  lists(prefix?: string): RequestRecord[];
  watches(prefix?: string): RequestRecord[];
  close(): Promise<void>;
}

const NODES = '/api/v1/nodes';
const SERVICE_CIDRS = '/apis/networking.k8s.io/v1/servicecidrs';

export async function startKubeApiStandIn(options: KubeApiStandInOptions): Promise<KubeApiStandIn> {
  const ca = await createClusterCa('kube-api stand-in CA');
  const cert = await ca.issue({ commonName: 'kube-apiserver', ips: ['127.0.0.1'], dnsNames: ['localhost'] });
  let rv = 1000;
  const clock = { next: () => ++rv, now: () => rv };
  const nodes = new Collection('Node', 'v1', clock);
  const serviceCIDRs = new Collection('ServiceCIDR', 'networking.k8s.io/v1', clock);
  const requests: RequestRecord[] = [];
  const failures: Array<{ status: number; prefix: string }> = [];
  const token = 'stand-in-token-0123456789';

  const state = {
    goneAs: options.goneAs ?? 'event',
    serviceCidrApi: options.serviceCidrApi ?? true,
    watchCache: options.watchCache ?? true,
  };

  const server = https.createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const record: RequestRecord = { method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), watch, status: 0 };
    requests.push(record);
    record.status = serve(req, res, url, watch);
  });

  function serve(req: http.IncomingMessage, res: http.ServerResponse, url: URL, watch: boolean): number {
    if (req.headers.authorization !== `Bearer ${token}`) {
      json(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'));
      return 401;
    }
    const failure = failures.findIndex((f) => url.pathname.startsWith(f.prefix));
    if (failure >= 0) {
      const [{ status } = { status: 500 }] = failures.splice(failure, 1);
      json(res, status, statusObject(status, 'InternalError', `injected failure ${status}`));
      return status;
    }
    const collection = url.pathname === NODES ? nodes : url.pathname === SERVICE_CIDRS && state.serviceCidrApi ? serviceCIDRs : undefined;
    if (!collection || req.method !== 'GET') {
      json(res, 404, statusObject(404, 'NotFound', 'the server could not find the requested resource'));
      return 404;
    }
    return watch ? collection.watch(res, url.searchParams, state.goneAs) : collection.list(res, url.searchParams, state.watchCache);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = `https://127.0.0.1:${port}`;
  const caFile = path.join(options.dir, 'kube-api-ca.crt');
  const kubeconfigFile = path.join(options.dir, 'kubeconfig');
  await writeFile(caFile, ca.certPem);
  await writeFile(
    kubeconfigFile,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'stand-in', cluster: { server: url, 'certificate-authority': caFile } }],
      users: [
        { name: 'tester', user: { token } },
        { name: 'stranger', user: { token: 'wrong-token' } },
      ],
      contexts: [
        { name: 'stand-in', context: { cluster: 'stand-in', user: 'tester' } },
        { name: 'unauthorized', context: { cluster: 'stand-in', user: 'stranger' } },
      ],
      'current-context': 'stand-in',
    }),
    { mode: 0o600 },
  );

  const cutConnections = async (): Promise<void> => {
    nodes.dropWatches();
    serviceCIDRs.dropWatches();
    server.closeAllConnections();
    // Resolves with an error when already closed: down() then close() is fine.
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const matching = (prefix: string, watch: boolean) => requests.filter((r) => r.path.startsWith(prefix) && r.watch === watch);
  return {
    url,
    caFile,
    kubeconfigFile,
    token,
    nodes,
    serviceCIDRs,
    requests,
    failNext: (count, status, prefix = '/') => {
      for (let i = 0; i < count; i++) failures.push({ status, prefix });
    },
    get goneAs() {
      return state.goneAs;
    },
    set goneAs(value: GoneAs) {
      state.goneAs = value;
    },
    get serviceCidrApi() {
      return state.serviceCidrApi;
    },
    set serviceCidrApi(value: boolean) {
      state.serviceCidrApi = value;
    },
    get watchCache() {
      return state.watchCache;
    },
    set watchCache(value: boolean) {
      state.watchCache = value;
    },
    down: cutConnections,
    up: async () => {
      server.listen(port, '127.0.0.1');
      await once(server, 'listening');
    },
    lists: (prefix = NODES) => matching(prefix, false),
    watches: (prefix = NODES) => matching(prefix, true),
    close: cutConnections,
  };
}
