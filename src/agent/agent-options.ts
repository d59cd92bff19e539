/** The node agent's options: the documented type, its schema and defaults. */
import { z } from 'zod';
import { isDns1123Subdomain } from '../net/hostname.js';
import { cidrRule, countRule, durationMsRule, filePathRule, objectRule } from '../options/option-rules.js';
import type { Logger } from '../log.js';
import type { BackoffOptions } from '../timing/backoff.js';
import type { ShapeOf } from '../util/shape-of.js';
import { rule } from '../util/zod-rule.js';
import { allowRuleText } from '../dialer/policy-options.js';
import { parseServerAddress, SERVER_EXAMPLE } from './server-address.js';

export interface NodeAgentOptions {
  /**
   * The daemons' agent listeners, "host:port" ("[fd00::1]:8022" for IPv6). The agent keeps a connection to
   * each, and to every address a name resolves to: every daemon replica gets its own registration.
   */
  servers: string[];
  /** This node's name as the daemon's inventory has it; it is the SSH user name. */
  nodeName: string;
  /** The agent's private key (unencrypted; 0600). */
  identityFile: string;
  /** known_hosts with each daemon's agent host key as a `[host]:port` line. Read again at every connection. */
  knownHostsFile: string;
  /**
   * What the daemon may reach through this node, "cidr" or "cidr:ports" ("10.0.0.0/8:443,8000-8100"). When
   * given it replaces the default (this node's own addresses at any port, plus podCIDRs and serviceCIDRs).
   */
  allow?: string[];
  /** Pod ranges the daemon may reach (any port), besides the node's own addresses. Ignored with `allow`. */
  podCIDRs?: string[];
  /** Service ClusterIP ranges the daemon may reach (any port). Ignored with `allow`. */
  serviceCIDRs?: string[];
  /** TCP connect timeout to a server. Default 10000. */
  connectTimeoutMs?: number;
  /** SSH handshake and authentication timeout. Default 15000. */
  handshakeTimeoutMs?: number;
  /** SSH keepalive towards the server; a dead server is noticed after interval x (countMax + 1). Default 10000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keepalives before the connection counts as dead. Default 3. */
  keepaliveCountMax?: number;
  /**
   * How long a CONNECT may take on the node (name lookup and TCP connect) before it is answered "TTL
   * expired". Keep it below the daemon's socksTimeoutMs (10000), so the daemon hears why. Default 8000.
   */
  dialTimeoutMs?: number;
  /** How often server names are looked up again, to follow replicas coming and going. Default 30000. */
  resolveIntervalMs?: number;
  /** A connection registered this long resets the reconnect backoff. Default 10000. */
  stableAfterMs?: number;
  /**
   * Reconnect delays. Defaults: 1000 ms doubling to 30000 ms, 20% jitter; 60000 ms after a failure retrying
   * cannot fix (key refused, host key not trusted), long enough not to flood the daemon's log.
   */
  backoff?: BackoffOptions;
  logger?: Logger;
}

export const NODE_AGENT_DEFAULTS = {
  connectTimeoutMs: 10_000,
  handshakeTimeoutMs: 15_000,
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
  dialTimeoutMs: 8_000,
  resolveIntervalMs: 30_000,
  stableAfterMs: 10_000,
} as const;

export const AGENT_BACKOFF_DEFAULTS: BackoffOptions = { permanentFailureDelayMs: 60_000 };

export type ResolvedNodeAgentOptions = NodeAgentOptions & { [K in keyof typeof NODE_AGENT_DEFAULTS]: number };

const serverRule = rule<string>((v) => typeof v === 'string' && parseServerAddress(v) !== undefined, SERVER_EXAMPLE);
const nodeNameRule = rule<string>((v) => typeof v === 'string' && isDns1123Subdomain(v), 'a node name (lower-case DNS-1123 subdomain)');

export const nodeAgentOptionsSchema = z.strictObject({
  servers: z.array(serverRule).min(1, { error: 'give at least one server' }),
  nodeName: nodeNameRule,
  identityFile: filePathRule,
  knownHostsFile: filePathRule,
  // An empty list would refuse everything, which nobody means: leave it out for the default instead.
  allow: z.array(allowRuleText).min(1, { error: 'must list at least one range (omit it for the default)' }).optional(),
  podCIDRs: z.array(cidrRule).optional(),
  serviceCIDRs: z.array(cidrRule).optional(),
  connectTimeoutMs: durationMsRule.optional(),
  handshakeTimeoutMs: durationMsRule.optional(),
  keepaliveIntervalMs: durationMsRule.optional(),
  keepaliveCountMax: countRule.optional(),
  dialTimeoutMs: durationMsRule.optional(),
  resolveIntervalMs: durationMsRule.optional(),
  stableAfterMs: durationMsRule.optional(),
  backoff: objectRule<BackoffOptions>('backoff options').optional(),
  logger: objectRule<Logger>('a logger').optional(),
} satisfies ShapeOf<NodeAgentOptions>);
