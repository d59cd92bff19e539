/**
 * The YAML config file (examples/ssh-egress.yaml documents every key). It composes the library's own option
 * schemas (pool, health check, dialer and policy, connection limits), so a value gets the same check and
 * message as in a constructor. Every object is strict, so a misspelt key is an error rather than a silently
 * ignored setting. Rules across the SSH fields come with the pool's schema; the config's own are in
 * config-rules.ts.
 */
import { z } from 'zod';
import { dialerOptionsSchema } from '../dialer/dialer-options.js';
import { destinationPolicySchema } from '../dialer/policy-options.js';
import { connectionLimitsShape } from '../frontends/limits-connections.js';
import { readinessOptionsObject } from '../frontends/readiness-options.js';
import { nodeEntrySchema } from '../nodes/inventory-schema.js';
import { healthCheckObject } from '../tunnel/health-check-options.js';
import { poolOptionsObject, sshChoiceRules } from '../tunnel/pool-options.js';
import { show } from '../util/show-value.js';
import { oneOf, rule } from '../util/zod-rule.js';
import { booleanRule, envNameRule, filePathRule, oneLineRule, portRule } from '../options/option-rules.js';
import { ADDRESS_TYPES, LOG_FORMATS, LOG_LEVELS, parseMode } from './config-values.js';
import { LISTEN_EXAMPLE, parseListenAddress, type HostPort } from '../net/listen-address.js';

const pool = poolOptionsObject.shape;
export const listenRule = rule<string>((v) => parseListenAddress(v) !== undefined, LISTEN_EXAMPLE).transform((v): HostPort => parseListenAddress(v)!);

/** YAML reads an unquoted 0600 as the decimal number 600, so only a string can say what was meant. */
const mode = z
  .custom<string>((v) => parseMode(v) !== undefined, {
    error: (iss) => {
      if (iss.input === undefined) return 'required field is missing';
      if (typeof iss.input === 'number') return `${iss.input} is a number: quote the octal mode, e.g. "0600" (YAML reads 0600 as 600)`;
      return `${show(iss.input)} is not an octal mode such as "0600"`;
    },
  })
  .transform((v) => parseMode(v)!);

/** The pool's SSH options that a config file may set (the rest, like the logger, the caller adds). */
const ssh = poolOptionsObject
  .pick({
    user: true,
    identityFile: true,
    passphraseFile: true,
    passphraseEnv: true,
    agentSocket: true,
    knownHostsFile: true,
    trustOnFirstUseFile: true,
    insecureIgnoreHostKeys: true,
    connectTimeoutMs: true,
    handshakeTimeoutMs: true,
    keepaliveIntervalMs: true,
    keepaliveCountMax: true,
    maxConcurrentConnects: true,
    connectionWindowBytes: true,
    connectionsPerNode: true,
    tunnel: true,
  })
  .superRefine(sshChoiceRules);

/** The pool's health check, with the kubelet TLS material as files (loaded at startup) instead of `tls`. */
const healthCheck = healthCheckObject.omit({ tls: true }).extend({
  caFile: filePathRule.optional(),
  certFile: filePathRule.optional(),
  keyFile: filePathRule.optional(),
});

const kubernetes = z.strictObject({
  kubeconfig: filePathRule.optional(),
  context: oneLineRule('a context name').optional(),
  inCluster: booleanRule.optional(),
  // Its grammar is the API server's to check: a bad one fails the first list with the server's message.
  labelSelector: oneLineRule('a label selector such as "node-role.kubernetes.io/worker" or "zone in (a,b)"').optional(),
  readyOnly: booleanRule.optional(),
  addressTypes: z.array(oneOf(ADDRESS_TYPES)).optional(),
  sshPort: portRule.optional(),
  discoverServiceCIDRs: booleanRule.optional(),
});

const inventory = z.strictObject({
  file: filePathRule.optional(),
  addressTypes: z.array(oneOf(ADDRESS_TYPES)).optional(),
  nodes: z.array(nodeEntrySchema).optional(),
  kubernetes: kubernetes.optional(),
});

const socket = z.strictObject({ path: filePathRule, mode: mode.optional() });

const listeners = z.strictObject({
  connect: z
    .strictObject({
      socket: socket.optional(),
      listen: listenRule.optional(),
      tls: z.strictObject({ listen: listenRule, certFile: filePathRule, keyFile: filePathRule, clientCAFile: filePathRule }).optional(),
    })
    .optional(),
  socks: z
    .strictObject({
      listen: listenRule.optional(),
      socket: socket.optional(),
      users: z
        .array(
          z.strictObject({
            // RFC 1929 carries the name in 1..255 bytes.
            username: rule<string>((v) => typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= 255, 'a user name of 1 to 255 bytes'),
            passwordFile: filePathRule.optional(),
            passwordEnv: envNameRule.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  admin: z.strictObject({ listen: listenRule.optional(), allowNonLoopback: booleanRule.optional() }).optional(),
  // Node agents dial in here (reverse tunnels); the host key file is created on first start when missing.
  agents: z.strictObject({ listen: listenRule, hostKeyFile: filePathRule, userCAFile: filePathRule.optional() }).optional(),
});

/** Resource bounds (docs/daemon.md, "Limits"): the pool's and the front ends' own fields; each refuses with a typed error (HTTP 503) once reached. */
const limits = z.strictObject({
  maxPendingDials: pool.maxPendingDials,
  maxPendingDialsPerTunnel: pool.maxPendingDialsPerTunnel,
  maxStreamsPerTunnel: pool.maxStreamsPerTunnel,
  ...connectionLimitsShape,
  maxWriteBufferBytesPerTunnel: pool.maxWriteBufferBytes,
});

export const configFileSchema = z.strictObject({
  ssh,
  healthCheck: healthCheck.optional(),
  inventory,
  cluster: z.strictObject({ serviceCIDRs: dialerOptionsSchema.shape.serviceCIDRs }).optional(),
  policy: destinationPolicySchema.optional(),
  dial: z.strictObject({ timeoutMs: dialerOptionsSchema.shape.dialTimeoutMs }).optional(),
  limits: limits.optional(),
  listeners: listeners.optional(),
  readiness: readinessOptionsObject.optional(),
  drain: z.strictObject({ graceMs: pool.drainGraceMs }).optional(),
  log: z.strictObject({ level: oneOf(LOG_LEVELS).optional(), format: oneOf(LOG_FORMATS).optional() }).optional(),
});

/** The file as validated, before paths are resolved and defaults filled. */
export type ConfigFile = z.output<typeof configFileSchema>;
