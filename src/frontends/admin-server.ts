import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { adminExposureOf } from './listener-exposure.js';
import { booleanRule, objectRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { isIp } from '../net/address.js';
import { isHostName } from '../net/hostname.js';
import { isPortOrZero } from '../net/port.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';
import { rule } from '../util/zod-rule.js';
import type { TunnelPool } from '../tunnel/pool.js';
import type { EgressMetrics } from './metrics.js';
import { readiness, readinessSummary, type Readiness } from './readiness.js';
import { publicTunnelStatus, type AdminStatus } from './admin-status.js';
import { inventoryReadiness, type InventoryReadiness, type InventoryStatusSource } from './inventory-status.js';

export interface AdminServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8132; 0 picks a free port (see address()). */
  port?: number;
  /**
   * /status and /metrics tell anyone who can connect the cluster's node addresses and health, and the
   * server has no authentication, so a host that is not loopback is refused unless this is true. The
   * daemon sets it only from an explicit config flag.
   */
  allowNonLoopback?: boolean;
  /** Reported by /status; default this package's version. */
  version?: string;
  logger?: Logger;
}

export const ADMIN_DEFAULTS = { host: '127.0.0.1', port: 8132 } as const;

const adminServerOptionsSchema = z.strictObject({
  host: rule<string>((v) => typeof v === 'string' && (isIp(v) || isHostName(v)), 'an IP address or host name').optional(),
  port: rule<number>(isPortOrZero, 'a port number (0..65535, 0 for any free port)').optional(),
  allowNonLoopback: booleanRule.optional(),
  version: z.string().optional(),
  logger: objectRule<Logger>('a logger').optional(),
} satisfies ShapeOf<AdminServerOptions>);

/** Where the admin server reads its data. Functions, so that a reload can swap the pool or the share. */
export interface AdminSource {
  pool(): TunnelPool;
  readyFraction(): number;
  metrics: EgressMetrics;
  /** The inventory's source and health; without it /status and /readyz leave the inventory out. */
  inventory?: InventoryStatusSource;
  /** readiness.maxInventoryStalenessSeconds; undefined: staleness never makes the daemon not ready. */
  maxInventoryStalenessSeconds?(): number | undefined;
}

/** Tunnels and inventory together: what /readyz answers and /status's `ready` says. */
interface CurrentReadiness {
  tunnels: Readiness;
  inventory: InventoryReadiness | undefined;
  ready: boolean;
}

interface Reply {
  status: number;
  body: string;
  contentType?: string;
  headers?: Record<string, string>;
}

const TEXT = 'text/plain; charset=utf-8';

/** GET /healthz, /readyz[?verbose], /metrics and /status over plain HTTP, loopback by default. */
export class AdminServer {
  private readonly server: http.Server;
  private readonly host: string;
  private readonly port: number;
  private readonly version: string;
  private readonly log: Logger;

  constructor(
    options: AdminServerOptions,
    private readonly source: AdminSource,
  ) {
    const valid = { ...ADMIN_DEFAULTS, ...defined(parseOptions(adminServerOptionsSchema, options)) };
    this.host = valid.host;
    this.port = valid.port;
    const exposure = adminExposureOf(valid, valid.allowNonLoopback);
    if (exposure) throw new ConfigError('listeners.admin.listen', exposure);
    this.version = valid.version ?? packageVersion();
    this.log = (valid.logger ?? silentLogger()).child({ component: 'admin' });
    this.server = http.createServer((req, res) => void this.handle(req, res));
    // Scrapers and probes send small requests at once; a client that dribbles headers is cut off.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
  }

  /** For logs: "admin http://127.0.0.1:8132". */
  get name(): string {
    const { address, port } = this.address() ?? { address: this.host, port: this.port };
    return `admin http://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
  }

  /** Starts listening; rejects when the address cannot be used (in use, not local). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.port, this.host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.log.error('admin server error', { error: err.message }));
        this.log.info('admin server listening', { url: this.name });
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** The bound address once listening. */
  address(): AddressInfo | undefined {
    const address = this.server.address();
    return address && typeof address === 'object' ? address : undefined;
  }

  /** Stops listening and drops keep-alive connections (a scraper's would otherwise hold close() open). */
  close(): Promise<void> {
    if (!this.server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let reply: Reply;
    try {
      reply = await this.route(req);
    } catch (err) {
      this.log.error('admin request failed', { url: req.url, error: (err as Error).message });
      reply = { status: 500, body: 'internal error\n' };
    }
    res.writeHead(reply.status, {
      'Content-Type': reply.contentType ?? TEXT,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...reply.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  }

  private async route(req: http.IncomingMessage): Promise<Reply> {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const handler = this.handlers[url.pathname];
    if (!handler) return { status: 404, body: `not found: ${url.pathname}\n` };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return { status: 405, body: `method ${req.method} not allowed\n`, headers: { Allow: 'GET, HEAD' } };
    }
    return handler(url);
  }

  private readonly handlers: Record<string, ((url: URL) => Reply | Promise<Reply>) | undefined> = {
    // Alive means the event loop answers; tunnels are /readyz's business.
    '/healthz': () => ({ status: 200, body: 'ok\n' }),
    '/readyz': (url) => this.readyz(url.searchParams.has('verbose')),
    '/metrics': async () => ({
      status: 200,
      body: await this.source.metrics.text(),
      contentType: this.source.metrics.contentType,
    }),
    '/status': () => ({ status: 200, body: `${JSON.stringify(this.status(), null, 2)}\n`, contentType: 'application/json' }),
  };

  private readyz(verbose: boolean): Reply {
    const fraction = this.source.readyFraction();
    const { tunnels: r, inventory, ready } = this.readiness();
    const summary = readinessSummary(r, fraction);
    const head = ready ? 'ok' : `not ready: ${r.ready ? inventory?.line : summary}`;
    if (!verbose) return { status: ready ? 200 : 503, body: `${head}\n` };
    const lines = [ready ? `ok: ${summary}` : head, ...r.reasons.map((line) => `  ${line}`)];
    // A stale inventory is shown even while ready: tunnels work on the last known nodes.
    if (inventory) lines.push(inventory.line);
    const missing = this.source.pool().nodesWithoutTunnel();
    // "No agent available" shows here before a request fails: which nodes this replica cannot reach, and which way.
    if (missing.length > 0) lines.push(`no tunnel on this replica: ${missing.map((n) => `${n.node} (${n.direction})`).join(', ')}`);
    return { status: ready ? 200 : 503, body: `${lines.join('\n')}\n` };
  }

  private readiness(tunnels = this.source.pool().status(), status = this.source.inventory?.()): CurrentReadiness {
    const r = readiness(tunnels, this.source.readyFraction());
    const inventory = status && inventoryReadiness(status, this.source.maxInventoryStalenessSeconds?.());
    return { tunnels: r, inventory, ready: r.ready && (inventory?.ready ?? true) };
  }

  private status(): AdminStatus {
    const fraction = this.source.readyFraction();
    const tunnels = this.source.pool().status();
    const inventoryStatus = this.source.inventory?.();
    const { tunnels: r, inventory, ready } = this.readiness(tunnels, inventoryStatus);
    return {
      version: this.version,
      uptimeSeconds: Math.floor(process.uptime()),
      ready: { ...r, ready, reasons: inventory && !inventory.ready ? [...r.reasons, inventory.line] : r.reasons, readyFraction: fraction },
      tunnels: tunnels.map(publicTunnelStatus),
      nodesWithoutTunnel: this.source.pool().nodesWithoutTunnel(),
      ...(inventoryStatus && { inventory: inventoryStatus }),
    };
  }
}

function packageVersion(): string {
  return (createRequire(import.meta.url)('ssh-egress/package.json') as { version: string }).version;
}
