/** One connection attempt to one daemon address: TCP, SSH with its host key verified, then the reverse forward. */
import ssh2, { type ConnectConfig, type ServerHostKeyAlgorithm } from 'ssh2';
import { HostKeyMismatchError, HostKeyUnknownError } from '../errors.js';
import { createHostKeyVerifier, hostKeyAlgorithmsFor, type HostKeyPolicy } from '../hostkeys/host-key-verifier.js';
import { fingerprintOf } from '../hostkeys/fingerprint.js';
import { KnownHosts } from '../hostkeys/known-hosts.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { ServerConnectionError } from './agent-errors.js';
import { openTcp } from './open-tcp.js';
import type { ServerAddress } from './server-address.js';

export interface HandshakeOptions {
  nodeName: string;
  privateKey: Buffer;
  knownHostsFile: string;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  keepaliveIntervalMs: number;
  keepaliveCountMax: number;
}

/** A registered connection: the daemon accepted our remote dynamic forward on `bindPort`. */
export interface ServerSession {
  client: ssh2.Client;
  bindPort: number;
  hostKeyFingerprint: string;
}

/**
 * Connects to `server` at `address` and asks for the forward the daemon expects (bindAddr "localhost",
 * port 0, as `ssh -R 0` does). `onChannel` is installed before the forward is asked for, so no channel
 * the daemon opens right after (its SOCKS5 probe) can be missed.
 */
export async function connectToServer(
  server: ServerAddress,
  address: string,
  options: HandshakeOptions,
  onChannel: (accept: () => ssh2.ClientChannel) => void,
  signal: AbortSignal,
): Promise<ServerSession> {
  // Read at every attempt: a line added for a new replica (or a fixed one) counts without a restart.
  const policy: HostKeyPolicy = { knownHosts: await KnownHosts.load(options.knownHostsFile).catch((err: unknown) => {
    throw new ServerConnectionError('ERR_KNOWN_HOSTS', server.text, (err as Error).message, err);
  }) };
  // The host key is looked up as "[name]:port" and "[address]:port", as OpenSSH does with CheckHostIP.
  const spec: NodeSpec = {
    name: server.host, address, aliases: [], sshPort: server.port, kubeletPort: 0, podCIDRs: [], hostKeyFingerprints: [], labels: {},
  };
  const verify = createHostKeyVerifier(spec, policy);
  const serverHostKey = hostKeyAlgorithmsFor(spec, policy);
  const tcp = await openTcp(address, server.port, options.connectTimeoutMs, false);
  if (!tcp.ok) throw new ServerConnectionError('ERR_CONNECT', server.text, tcp.reason);
  const sock = tcp.socket;
  const client = new ssh2.Client();
  let fingerprint = '';
  let hostKeyError: ServerConnectionError | undefined;

  return new Promise<ServerSession>((resolve, reject) => {
    const fail = (err: ServerConnectionError): void => {
      signal.removeEventListener('abort', onAbort);
      client.removeAllListeners('ready');
      client.on('error', () => undefined);
      client.end();
      sock.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(new ServerConnectionError('ERR_HANDSHAKE', server.text, 'stopped'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    client.on('tcp connection', (_info, accept) => onChannel(accept));
    client.once('ready', () => {
      client.forwardIn('localhost', 0, (err, bindPort) => {
        if (err) return fail(new ServerConnectionError('ERR_HANDSHAKE', server.text, `the reverse forward was refused (${err.message})`, err));
        signal.removeEventListener('abort', onAbort);
        client.removeAllListeners('error');
        client.removeAllListeners('close');
        resolve({ client, bindPort, hostKeyFingerprint: fingerprint });
      });
    });
    client.once('error', (err: Error & { level?: string }) => {
      if (hostKeyError) fail(hostKeyError);
      else if (err.level === 'client-authentication') {
        fail(new ServerConnectionError('ERR_AUTH', server.text, `the key was refused for node ${options.nodeName} (is it in the node's agentKeys, or certified for it?)`, err));
      } else if (err.level === 'client-timeout') {
        fail(new ServerConnectionError('ERR_HANDSHAKE', server.text, `no SSH handshake within ${options.handshakeTimeoutMs} ms`, err));
      } else fail(new ServerConnectionError('ERR_HANDSHAKE', server.text, `SSH handshake failed: ${err.message}`, err));
    });
    client.once('close', () => fail(hostKeyError ?? new ServerConnectionError('ERR_HANDSHAKE', server.text, 'connection closed during the SSH handshake')));
    client.connect({
      sock,
      username: options.nodeName,
      privateKey: options.privateKey,
      // Only public keys: ssh2 would otherwise try "none" first, which the daemon counts as an attempt.
      authHandler: ['publickey'] as unknown as ConnectConfig['authHandler'],
      hostVerifier: (key: Buffer): boolean => {
        const verdict = verify(key);
        if (verdict.ok) fingerprint = verdict.fingerprint;
        else hostKeyError = hostKeyRefusal(server, address, options.knownHostsFile, fingerprintOf(key), verdict.error);
        return verdict.ok;
      },
      readyTimeout: options.handshakeTimeoutMs,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      ...(serverHostKey && { algorithms: { serverHostKey: serverHostKey as ServerHostKeyAlgorithm[] } }),
    });
  });
}

/** Why the server's host key was refused, in words about a daemon, naming the fingerprint and the file. */
function hostKeyRefusal(server: ServerAddress, address: string, file: string, fingerprint: string, error: Error & { code?: string }): ServerConnectionError {
  const at = address === server.host ? '' : ` (at ${address})`;
  if (error instanceof HostKeyUnknownError) {
    const names = [server.host, address].filter((n, i, all) => all.indexOf(n) === i).map((n) => `[${n}]:${server.port}`);
    return new ServerConnectionError(
      'ERR_HOST_KEY_UNKNOWN',
      server.text,
      `host key ${fingerprint}${at} is not trusted: ${file} has no line for ${names.join(' or ')}; add the daemon's agent host key line (its <hostKeyFile>.pub) as "${names[0]} <key>"`,
      error,
    );
  }
  if (error instanceof HostKeyMismatchError) {
    return new ServerConnectionError(
      'ERR_HOST_KEY_MISMATCH',
      server.text,
      `host key ${fingerprint}${at} does not match ${file}, which trusts ${error.expected.join(' or ')}: the daemon's agent host key changed, or something else answers there`,
      error,
    );
  }
  const code = error.code === 'ERR_HOST_KEY_REVOKED' ? 'ERR_HOST_KEY_REVOKED' : 'ERR_KNOWN_HOSTS';
  return new ServerConnectionError(code, server.text, `host key ${fingerprint}${at} refused: ${error.message} (${file})`, error);
}
