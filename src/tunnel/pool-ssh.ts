import type { Logger } from '../log.js';
import type { HostKeyPolicy } from '../hostkeys/host-key-verifier.js';
import type { Ssh2ConnectorOptions, SshCredentials } from '../ssh/ssh2-connector.js';
import { loadCredentials, loadHostKeyPolicy, type SharedLoad } from './pool-credentials.js';
import type { ResolvedPoolOptions } from './pool-options.js';

/** Quick retries inside one attempt when sshd drops a handshake (MaxStartups); more is the backoff's job. */
const DROPPED_HANDSHAKE_RETRIES = 2;

/**
 * How a pool's options reach a node's sshd: the credentials and host-key policy, each loaded once and
 * shared, and the ssh2 connector options built from them. The pool's tunnels connect with these, and
 * `check` with the same, so a passing check means the pool will connect too.
 */
export interface PoolSsh {
  /** reset() makes the next connection read the key again. */
  credentials: SharedLoad<SshCredentials>;
  /** reset() makes the next connection read known_hosts again. */
  hostKeyPolicy: SharedLoad<HostKeyPolicy>;
  connectorOptions: Ssh2ConnectorOptions;
}

export function poolSsh(o: ResolvedPoolOptions, logger: Logger): PoolSsh {
  const credentials = loadCredentials(o);
  const hostKeyPolicy = loadHostKeyPolicy(o, logger);
  return {
    credentials,
    hostKeyPolicy,
    connectorOptions: {
      user: o.user,
      credentials,
      hostKeyPolicy,
      connectTimeoutMs: o.connectTimeoutMs,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      keepaliveIntervalMs: o.keepaliveIntervalMs,
      keepaliveCountMax: o.keepaliveCountMax,
      maxWriteBufferBytes: o.maxWriteBufferBytes,
      connectionWindowBytes: o.connectionWindowBytes,
      droppedHandshakeRetries: DROPPED_HANDSHAKE_RETRIES,
      logger,
    },
  };
}
