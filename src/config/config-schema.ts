/**
 * The YAML config file (examples/ssh-egress.yaml documents every key). Every object is strict, so a
 * misspelt key is an error rather than a silently ignored setting. Only single values are checked here;
 * rules across fields are in config-rules.ts.
 */
import { z } from 'zod';
import { isCidr } from '../net/cidr.js';
import { isPort } from '../net/port.js';
import { nodeEntrySchema } from '../nodes/inventory-schema.js';
import { show } from '../util/show-value.js';
import { rule } from '../util/zod-rule.js';
import { MAX_CONNECTIONS_PER_NODE } from '../tunnel/pool-options.js';
import {
  ADDRESS_TYPES,
  HEALTH_CHECK_KINDS,
  LISTEN_EXAMPLE,
  LOG_FORMATS,
  LOG_LEVELS,
  MAX_DURATION_MS,
  isDurationMs,
  isEnvName,
  isFilePath,
  isFraction,
  isPositiveInteger,
  isUserName,
  parseListenAddress,
  parseMode,
  type HostPort,
} from './config-values.js';

const oneOf = <T extends string>(values: readonly T[]) => rule<T>((v) => values.includes(v as T), `one of ${values.join(', ')}`);

const file = rule<string>(isFilePath, 'a file path');
const envName = rule<string>(isEnvName, 'an environment variable name');
const durationMs = rule<number>(isDurationMs, `a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
const count = rule<number>(isPositiveInteger, 'a whole number >= 1');
const port = rule<number>(isPort, 'a port number (1..65535)');
const listen = rule<string>((v) => parseListenAddress(v) !== undefined, LISTEN_EXAMPLE).transform((v): HostPort => parseListenAddress(v)!);

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

const ssh = z.strictObject({
  user: rule<string>(isUserName, 'a user name'),
  identityFile: file.optional(),
  passphraseFile: file.optional(),
  passphraseEnv: envName.optional(),
  agentSocket: file.optional(),
  knownHostsFile: file.optional(),
  trustOnFirstUseFile: file.optional(),
  insecureIgnoreHostKeys: z.boolean().optional(),
  connectTimeoutMs: durationMs.optional(),
  handshakeTimeoutMs: durationMs.optional(),
  // 0 turns keepalive off.
  keepaliveIntervalMs: rule<number>((v) => isDurationMs(v, 0), `a whole number of milliseconds from 0 (off) to ${MAX_DURATION_MS}`).optional(),
  keepaliveCountMax: count.optional(),
  maxConcurrentConnects: count.optional(),
  // Below 64 KiB a channel could not keep the few packets in flight that sshd acknowledges.
  connectionWindowBytes: rule<number>((v) => isPositiveInteger(v) && v >= 65536, 'a whole number of bytes >= 65536').optional(),
  connectionsPerNode: rule<number>((v) => isPositiveInteger(v) && v <= MAX_CONNECTIONS_PER_NODE, `a whole number from 1 to ${MAX_CONNECTIONS_PER_NODE}`).optional(),
});

const healthCheck = z.strictObject({
  kind: oneOf(HEALTH_CHECK_KINDS).optional(),
  path: rule<string>((v) => typeof v === 'string' && v.startsWith('/'), 'a URL path starting with "/"').optional(),
  port: port.optional(),
  intervalMs: durationMs.optional(),
  timeoutMs: durationMs.optional(),
  failureThreshold: count.optional(),
  caFile: file.optional(),
  certFile: file.optional(),
  keyFile: file.optional(),
});

const nonEmpty = (what: string) => rule<string>((v) => typeof v === 'string' && v.trim() !== '' && !/[\n\r]/.test(v), what);

const kubernetes = z.strictObject({
  kubeconfig: file.optional(),
  context: nonEmpty('a context name').optional(),
  inCluster: z.boolean().optional(),
  // Its grammar is the API server's to check: a bad one fails the first list with the server's message.
  labelSelector: nonEmpty('a label selector such as "node-role.kubernetes.io/worker" or "zone in (a,b)"').optional(),
  readyOnly: z.boolean().optional(),
  addressTypes: z.array(oneOf(ADDRESS_TYPES)).optional(),
  sshPort: port.optional(),
  discoverServiceCIDRs: z.boolean().optional(),
});

const inventory = z.strictObject({
  file: file.optional(),
  addressTypes: z.array(oneOf(ADDRESS_TYPES)).optional(),
  nodes: z.array(nodeEntrySchema).optional(),
  kubernetes: kubernetes.optional(),
});

const socket = z.strictObject({ path: file, mode: mode.optional() });

const listeners = z.strictObject({
  connect: z
    .strictObject({
      socket: socket.optional(),
      listen: listen.optional(),
      tls: z.strictObject({ listen, certFile: file, keyFile: file, clientCAFile: file }).optional(),
    })
    .optional(),
  socks: z
    .strictObject({
      listen: listen.optional(),
      socket: socket.optional(),
      users: z
        .array(
          z.strictObject({
            // RFC 1929 carries the name in 1..255 bytes.
            username: rule<string>((v) => typeof v === 'string' && v !== '' && Buffer.byteLength(v) <= 255, 'a user name of 1 to 255 bytes'),
            passwordFile: file.optional(),
            passwordEnv: envName.optional(),
          }),
        )
        .optional(),
    })
    .optional(),
  admin: z.strictObject({ listen: listen.optional(), allowNonLoopback: z.boolean().optional() }).optional(),
});

/** Resource bounds (README "Limits"); each refuses with a typed error (HTTP 503) once reached. */
const limits = z.strictObject({
  maxPendingDials: count.optional(),
  maxPendingDialsPerTunnel: count.optional(),
  maxStreamsPerTunnel: count.optional(),
  maxConnections: count.optional(),
  maxConnectionsPerClient: count.optional(),
  // Below the socket's own 64 KiB high-water mark, 'drain' would never wake waiting writers.
  maxWriteBufferBytesPerTunnel: rule<number>((v) => isPositiveInteger(v) && v >= 65536, 'a whole number of bytes >= 65536').optional(),
});

export const configFileSchema = z.strictObject({
  ssh,
  healthCheck: healthCheck.optional(),
  inventory,
  cluster: z.strictObject({ serviceCIDRs: z.array(rule<string>(isCidr, 'a CIDR')).optional() }).optional(),
  // Each rule's own syntax is checked by the dialer's policy compiler, so messages match the library's.
  policy: z.strictObject({ allow: z.array(z.unknown()).optional(), nodePorts: z.array(z.unknown()).optional() }).optional(),
  dial: z.strictObject({ timeoutMs: durationMs.optional() }).optional(),
  limits: limits.optional(),
  listeners: listeners.optional(),
  readiness: z.strictObject({ readyFraction: rule<number>(isFraction, 'a fraction from 0 to 1').optional() }).optional(),
  drain: z.strictObject({ graceMs: durationMs.optional() }).optional(),
  log: z.strictObject({ level: oneOf(LOG_LEVELS).optional(), format: oneOf(LOG_FORMATS).optional() }).optional(),
});

/** The file as validated, before paths are resolved and defaults filled. */
export type ConfigFile = z.output<typeof configFileSchema>;
