import type net from 'node:net';
import { z } from 'zod';
import { countRule } from '../options/option-rules.js';
import { parseOptions } from '../options/parse-options.js';
import { ConnectionLimitError } from '../errors.js';
import { defined } from '../util/defined.js';
import type { ShapeOf } from '../util/shape-of.js';

/** Client connections one proxy front end holds at once. */
export interface ConnectionLimits {
  /** Open client connections on this front end; more are refused (HTTP 503, SOCKS general failure). Default 10000. */
  maxConnections?: number;
  /**
   * Open connections from one client address (TCP and TLS listeners; a Unix socket carries no address, so
   * only maxConnections applies there). Keeps one runaway local tool from taking every slot. Default 5000.
   */
  maxConnectionsPerClient?: number;
}

export const CONNECTION_LIMIT_DEFAULTS = { maxConnections: 10_000, maxConnectionsPerClient: 5_000 } as const;

/** The fields, for each front end's options (and the config file's limits:) to include. */
export const connectionLimitsShape = {
  maxConnections: countRule.optional(),
  maxConnectionsPerClient: countRule.optional(),
} satisfies ShapeOf<ConnectionLimits>;

const connectionLimitsSchema = z.strictObject(connectionLimitsShape);

/**
 * Refused clients still get an answer (a 503, a SOCKS reply), which takes a socket for a moment. Past this
 * many extra sockets the listener drops new connections at accept without a word (net.Server
 * maxConnections), so a flood cannot grow file descriptors or memory without bound either.
 */
export const REFUSAL_HEADROOM = 256;

/** A flood of refusals logs one warning per this period, with the count, instead of one line each. */
const WARN_EVERY_MS = 10_000;

export type Admission = { ok: true; release: () => void } | { ok: false; error: ConnectionLimitError };

/** Counts a front end's connections, in total and per client address, and refuses past the limits. */
export class ConnectionLimiter {
  maxConnections!: number;
  maxConnectionsPerClient!: number;
  private total = 0;
  private readonly perClient = new Map<string, number>();
  private refusedSinceWarning = 0;
  private lastWarningAt = -Infinity;

  constructor(
    private readonly frontend: () => string,
    limits: ConnectionLimits = {},
  ) {
    this.setLimits(limits);
  }

  /**
   * Takes new limits (a reload; absent fields go back to the defaults). Connections already admitted stay,
   * even past a lowered limit; new ones are counted against it.
   */
  setLimits(limits: ConnectionLimits): void {
    const { maxConnections, maxConnectionsPerClient } = limits;
    const valid = parseOptions(connectionLimitsSchema, defined({ maxConnections, maxConnectionsPerClient }));
    const resolved = { ...CONNECTION_LIMIT_DEFAULTS, ...valid };
    this.maxConnections = resolved.maxConnections;
    this.maxConnectionsPerClient = resolved.maxConnectionsPerClient;
  }

  get open(): number {
    return this.total;
  }

  /** The hard cap to set as the listener's maxConnections: admitted ones plus room to answer refusals. */
  get socketCeiling(): number {
    return this.maxConnections + REFUSAL_HEADROOM;
  }

  /** Admits one connection from `client` (undefined: a Unix socket). The release is idempotent. */
  admit(client: string | undefined): Admission {
    if (this.total >= this.maxConnections) {
      return { ok: false, error: new ConnectionLimitError(this.frontend(), this.maxConnections, 'total') };
    }
    const fromClient = client === undefined ? 0 : (this.perClient.get(client) ?? 0);
    if (client !== undefined && fromClient >= this.maxConnectionsPerClient) {
      return { ok: false, error: new ConnectionLimitError(this.frontend(), this.maxConnectionsPerClient, 'client', client) };
    }
    this.total += 1;
    if (client !== undefined) this.perClient.set(client, fromClient + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        if (client === undefined) return;
        const left = (this.perClient.get(client) ?? 1) - 1;
        // Delete at zero: a map keyed by every address ever seen would itself grow without bound.
        if (left <= 0) this.perClient.delete(client);
        else this.perClient.set(client, left);
      },
    };
  }

  /**
   * Counts a refusal; returns how many refusals the warning should report, or undefined when one was
   * logged less than WARN_EVERY_MS ago.
   */
  refusalToReport(now = Date.now()): number | undefined {
    this.refusedSinceWarning += 1;
    if (now - this.lastWarningAt < WARN_EVERY_MS) return undefined;
    const count = this.refusedSinceWarning;
    this.refusedSinceWarning = 0;
    this.lastWarningAt = now;
    return count;
  }

  /** Admits `socket` and releases its slot when it closes. */
  admitSocket(socket: net.Socket): Admission {
    const admission = this.admit(socket.remoteAddress || undefined);
    if (admission.ok) socket.once('close', admission.release);
    return admission;
  }
}
