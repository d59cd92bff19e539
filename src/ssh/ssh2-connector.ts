import type net from 'node:net';
import pRetry from 'p-retry';
import ssh2, { type ConnectConfig, type PublicKeyAuthMethod, type ServerHostKeyAlgorithm } from 'ssh2';
import { AuthenticationError, EgressError, HandshakeError } from '../errors.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import type { Logger } from '../log.js';
import type { SshConnector } from './ssh-session.js';
import { parsedPrivateKey } from './parsed-private-key.js';
import { Ssh2Session } from './ssh2-session.js';
import { tcpConnect } from './tcp-connect.js';
import { createHostKeyVerifier, hostKeyAlgorithmsFor, type HostKeyPolicy } from '../hostkeys/host-key-verifier.js';

/** What authenticates us: a private key, an ssh-agent socket, or both. */
export interface SshCredentials {
  privateKey?: Buffer | undefined;
  passphrase?: string | undefined;
  agentSocket?: string | undefined;
}

export interface Ssh2ConnectorOptions {
  user: string;
  /** Loaded once per pool and shared; a failure here fails (and parks) every attempt. */
  credentials: () => Promise<SshCredentials>;
  hostKeyPolicy: () => Promise<HostKeyPolicy>;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
  maxWriteBufferBytes: number;
  connectionWindowBytes: number;
  /** Quick retries of a handshake sshd dropped before its banner (MaxStartups). */
  droppedHandshakeRetries: number;
  logger: Logger;
  /** Told how far each attempt got, so a caller can time the steps (the CLI's check); the pool sets none. */
  observer?: ConnectObserver;
}

/**
 * Milestones of one connection attempt, in order. A retried attempt (dropped handshake) starts again at
 * tcpConnected. Called synchronously; an observer must not throw.
 */
export interface ConnectObserver {
  /** The TCP connection to sshd is up. */
  tcpConnected?(node: NodeSpec): void;
  /** Key exchange finished with the host key verified; `fingerprint` is that key's. */
  hostKeyVerified?(node: NodeSpec, fingerprint: string): void;
  /** sshd accepted our key: the session is about to be handed back. */
  authenticated?(node: NodeSpec): void;
}

export function createSsh2Connector(options: Ssh2ConnectorOptions): SshConnector {
  return async (node, signal) => {
    const [credentials, policy] = await Promise.all([options.credentials(), options.hostKeyPolicy()]);
    const verify = createHostKeyVerifier(node, policy);
    // Ask first for the key types we trust, as OpenSSH does, so a node with several host keys shows a known one.
    const serverHostKey = hostKeyAlgorithmsFor(node, policy);
    // sshd's MaxStartups drops some handshakes when many arrive at once; a few quick retries absorb that
    // without waiting for the tunnel's backoff. Any other failure goes straight to the tunnel.
    return pRetry(
      async () => {
        const sock = await tcpConnect(node, options.connectTimeoutMs, signal);
        options.observer?.tcpConnected?.(node);
        return handshake(node, sock, credentials, { verify, serverHostKey }, options, signal);
      },
      {
        retries: options.droppedHandshakeRetries,
        minTimeout: 50,
        maxTimeout: 500,
        randomize: true,
        signal,
        shouldRetry: ({ error }) => isDroppedHandshake(error),
        onFailedAttempt: ({ error, retriesLeft }) => {
          if (retriesLeft > 0 && isDroppedHandshake(error)) {
            options.logger.debug('handshake dropped by the node, retrying', { node: node.name, error: error.message });
          }
        },
      },
    );
  };
}

/** The connection closed before key exchange finished: what a MaxStartups drop looks like from here. */
function isDroppedHandshake(error: Error): boolean {
  return error instanceof HandshakeError && error.droppedBeforeKeyExchange;
}

function handshake(
  node: NodeSpec,
  sock: net.Socket,
  credentials: SshCredentials,
  hostKeys: { verify: ReturnType<typeof createHostKeyVerifier>; serverHostKey: string[] | undefined },
  options: Ssh2ConnectorOptions,
  signal: AbortSignal,
): Promise<Ssh2Session> {
  const client = new ssh2.Client();
  let hostKeyFingerprint: string | undefined;
  let keyExchangeDone = false;
  client.once('handshake', () => {
    keyExchangeDone = true;
    options.observer?.hostKeyVerified?.(node, hostKeyFingerprint ?? 'unknown');
  });
  let hostKeyError: EgressError | undefined;
  // Only public keys: ssh2 otherwise tries "none" first, and OpenSSH delays that failure.
  const key = credentials.privateKey && parsedPrivateKey(credentials.privateKey, credentials.passphrase);
  const methods: (string | PublicKeyAuthMethod)[] = [];
  if (key) methods.push({ type: 'publickey', username: options.user, key });
  else if (credentials.privateKey) methods.push('publickey');
  if (credentials.agentSocket) methods.push('agent');

  return new Promise((resolve, reject) => {
    const fail = (err: EgressError): void => {
      signal.removeEventListener('abort', onAbort);
      client.removeAllListeners('ready');
      client.on('error', () => undefined); // late errors from a discarded client are expected
      client.end();
      sock.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new HandshakeError(node.name, 'connection attempt cancelled', signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });

    client.once('ready', () => {
      options.observer?.authenticated?.(node);
      signal.removeEventListener('abort', onAbort);
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      const limits = { maxWriteBufferBytes: options.maxWriteBufferBytes, connectionWindowBytes: options.connectionWindowBytes };
      resolve(new Ssh2Session(client, sock, node.name, hostKeyFingerprint ?? 'unknown', limits));
    });
    client.once('error', (err: Error & { level?: string }) => {
      if (hostKeyError) fail(hostKeyError);
      else if (err.level === 'client-authentication') fail(new AuthenticationError(node.name, options.user, err));
      else if (err.level === 'client-timeout')
        fail(new HandshakeError(node.name, `no handshake within ${options.handshakeTimeoutMs} ms`, err));
      else fail(new HandshakeError(node.name, err.message, err, !keyExchangeDone));
    });
    client.once('close', () =>
      fail(hostKeyError ?? new HandshakeError(node.name, 'connection closed during the handshake', undefined, !keyExchangeDone)),
    );

    client.connect({
      sock,
      username: options.user,
      privateKey: key ? undefined : credentials.privateKey,
      passphrase: credentials.passphrase,
      agent: credentials.agentSocket,
      authHandler: methods as unknown as ConnectConfig['authHandler'],
      hostVerifier: (key: Buffer): boolean => {
        const verdict = hostKeys.verify(key);
        if (verdict.ok) hostKeyFingerprint = verdict.fingerprint;
        else hostKeyError = verdict.error;
        return verdict.ok;
      },
      readyTimeout: options.handshakeTimeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      ...(hostKeys.serverHostKey && { algorithms: { serverHostKey: hostKeys.serverHostKey as ServerHostKeyAlgorithm[] } }),
    });
  });
}
