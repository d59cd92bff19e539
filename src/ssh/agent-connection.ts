import type { AuthContext, Connection } from 'ssh2';
import type { Logger } from '../log.js';
import type { AgentAuthenticator } from './agent-auth.js';
import type { AgentServerStats } from './agent-server-stats.js';

/**
 * What one agent connection may do, from its first authentication attempt on: authenticate with a public
 * key as a node of the inventory, in a bounded number of attempts; then ask for exactly one tcpip-forward
 * (the registration). Every other request and every channel it opens is refused: an agent must never use
 * the daemon as a way into the control plane's network.
 */

export interface AgentIdentity {
  node: string;
  /** The key that signed (for a certificate, the certified key's fingerprint). */
  fingerprint: string;
  /** How it was accepted, for logs: "agent key" or the certificate's description. */
  via: string;
}

export interface AgentRegistrationRequest extends AgentIdentity {
  bindAddress: string;
  bindPort: number;
}

export interface AgentConnectionContext {
  remoteAddress: string;
  remotePort: number;
  authenticator: AgentAuthenticator;
  maxAuthAttempts: number;
  registrationTimeoutMs: number;
  /** The port to answer a `tcpip-forward` for port 0 with (OpenSSH prints it; nothing listens on it). */
  allocatePort(): number;
  stats: AgentServerStats;
  logger: Logger;
  onAuthenticated(identity: AgentIdentity): void;
  onRegistration(request: AgentRegistrationRequest): void;
}

export function superviseAgentConnection(client: Connection, ctx: AgentConnectionContext): void {
  const peer = { remoteAddress: ctx.remoteAddress, remotePort: ctx.remotePort };
  let failures = 0;
  let identity: AgentIdentity | undefined;
  let registered = false;
  let registrationTimer: NodeJS.Timeout | undefined;

  client.on('error', (err: Error) => ctx.logger.debug('agent connection error', { ...peer, node: identity?.node, error: err.message }));
  client.on('close', () => clearTimeout(registrationTimer));

  client.on('authentication', (auth: AuthContext) => {
    if (auth.method !== 'publickey') {
      // "none" is how clients ask which methods exist; sshd does not count it as a failure either.
      if (auth.method !== 'none') refuse(auth, `method ${auth.method} is not accepted`);
      else auth.reject(['publickey']);
      return;
    }
    const verdict = ctx.authenticator.check({
      node: auth.username,
      remoteAddress: ctx.remoteAddress,
      keyAlgorithm: auth.key.algo,
      keyBlob: auth.key.data,
      signature: auth.signature,
      signedData: auth.blob,
      hashAlgorithm: auth.hashAlgo,
    });
    if (!verdict.ok) {
      refuse(auth, verdict.reason);
      return;
    }
    if (verdict.signed) identity = { node: auth.username, fingerprint: verdict.fingerprint, via: verdict.via };
    auth.accept();
  });

  client.on('ready', () => {
    if (!identity) return; // ssh2 only becomes ready after our accept() of a signed request
    ctx.stats.authSuccesses += 1;
    ctx.logger.info('agent authenticated', { ...peer, node: identity.node, fingerprint: identity.fingerprint, via: identity.via });
    ctx.onAuthenticated(identity);
    registrationTimer = setTimeout(() => {
      ctx.stats.registrationTimeouts += 1;
      ctx.logger.warn('agent did not register a forward in time; closing', { ...peer, node: identity?.node, timeoutMs: ctx.registrationTimeoutMs });
      client.end();
    }, ctx.registrationTimeoutMs);
  });

  client.on('request', (accept, reject, name, info) => {
    const bind = info as { bindAddr?: unknown; bindPort?: unknown } | undefined;
    if (name === 'tcpip-forward' && identity && !registered && typeof bind?.bindAddr === 'string' && typeof bind.bindPort === 'number') {
      registered = true;
      clearTimeout(registrationTimer);
      const bindPort = bind.bindPort === 0 ? ctx.allocatePort() : bind.bindPort;
      accept?.(bindPort);
      ctx.onRegistration({ ...identity, bindAddress: bind.bindAddr, bindPort });
      return;
    }
    ctx.stats.refusedRequests += 1;
    ctx.logger.warn('agent request refused', { ...peer, node: identity?.node, request: name, why: registered && name === 'tcpip-forward' ? 'already registered' : 'not allowed' });
    reject?.();
  });

  const refuseChannel = (kind: string, detail: Record<string, unknown> = {}) => {
    ctx.stats.refusedChannels += 1;
    ctx.logger.warn('agent channel refused', { ...peer, node: identity?.node, channel: kind, ...detail });
  };
  client.on('session', (_accept, reject) => {
    refuseChannel('session (shell, exec, subsystem)');
    reject();
  });
  client.on('tcpip', (_accept, reject, info) => {
    refuseChannel('direct-tcpip', { destination: `${info.destIP}:${info.destPort}` });
    reject();
  });
  client.on('openssh.streamlocal', (_accept, reject) => {
    refuseChannel('direct-streamlocal');
    reject();
  });

  function refuse(auth: AuthContext, reason: string): void {
    if (failures >= ctx.maxAuthAttempts) {
      auth.reject(); // already closing: attempts the client sent meanwhile are not counted again
      return;
    }
    failures += 1;
    ctx.stats.authFailures += 1;
    ctx.logger.warn('agent authentication refused', { ...peer, node: auth.username, reason, attempt: failures });
    auth.reject(['publickey']);
    if (failures >= ctx.maxAuthAttempts) {
      ctx.stats.authAttemptsExceeded += 1;
      ctx.logger.warn('too many agent authentication failures; closing', { ...peer, node: auth.username, attempts: failures });
      client.end();
    }
  }
}
