import {
  AuthenticationError,
  ChannelOpenError,
  ConnectError,
  DialTimeoutError,
  EgressError,
  HandshakeError,
  HostKeyMismatchError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  KnownHostsError,
  TunnelClosedError,
} from '../errors.js';
import { KubeletCertificateError } from '../tls/kubelet-certificate-error.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { describeSocketError } from '../ssh/tcp-connect.js';
import type { CheckStepName, StepError } from './check-result.js';

/** What a failure message needs to be specific: the node, the SSH user and the timeouts in force. */
export interface FailureContext {
  node: NodeSpec;
  user: string;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
}

/**
 * The step a connection failure belongs to. `reached` is how far the attempt got: a handshake error
 * after key exchange (sshd hanging up or timing out during authentication) belongs to `auth`.
 */
export function stepOfFailure(err: unknown, reached: CheckStepName): CheckStepName {
  if (err instanceof ConnectError) return 'tcp';
  if (err instanceof AuthenticationError) return 'auth';
  if (isHostKeyError(err)) return 'handshake';
  if (err instanceof HandshakeError) return reached === 'auth' ? 'auth' : 'handshake';
  return reached;
}

/**
 * The failure in plain words, without the node's name (the row names it): "connection refused
 * (198.18.0.11:22)", "host key mismatch: expected SHA256:..., got SHA256:...", "authentication refused
 * for user root", "timed out after 5000 ms (SSH handshake)".
 */
export function describeFailure(err: unknown, step: CheckStepName, ctx: FailureContext): StepError {
  const { node } = ctx;
  const code = codeOf(err);
  const at = `${node.address}:${node.sshPort}`;
  if (err instanceof ConnectError) {
    const cause = err.cause as NodeJS.ErrnoException | undefined;
    // tcpConnect's own timer rejects without a cause; socket errors carry theirs.
    if (cause === undefined) return { code, message: `timed out after ${ctx.connectTimeoutMs} ms (TCP connect to ${at})` };
    if (typeof cause.code === 'string') return { code, message: describeSocketError(cause, node.address, node.sshPort) };
    return { code, message: strip(err.message, `cannot reach node ${node.name}: `) };
  }
  if (err instanceof HostKeyMismatchError) return { code, message: `host key mismatch: expected ${err.expected.join(' or ')}, got ${err.actual}` };
  if (err instanceof HostKeyUnknownError) return { code, message: strip(err.message, '', ` for node ${node.name}`) };
  if (err instanceof HostKeyRevokedError) return { code, message: strip(err.message, `node ${node.name} `) };
  if (err instanceof AuthenticationError) return { code, message: `authentication refused for user ${ctx.user}` };
  if (err instanceof HandshakeError) {
    if ((err.cause as { level?: unknown } | undefined)?.level === 'client-timeout') {
      return { code, message: `timed out after ${ctx.handshakeTimeoutMs} ms (${step === 'auth' ? 'authentication' : 'SSH handshake'} with ${at})` };
    }
    const why = strip(err.message, `SSH handshake with node ${node.name} failed: `);
    return { code, message: step === 'auth' ? `connection closed during authentication: ${why}` : `SSH handshake failed: ${why}` };
  }
  if (err instanceof ChannelOpenError) return { code, message: strip(err.message, `node ${node.name} `).replace(/^could not/, 'sshd could not') };
  if (err instanceof DialTimeoutError) return { code, message: `timed out after ${err.timeoutMs} ms (${TIMEOUT_CONTEXT[step]})` };
  if (err instanceof TunnelClosedError) return { code, message: `SSH connection closed: ${strip(err.message, `tunnel to node ${node.name} closed: `)}` };
  if (err instanceof KubeletCertificateError) return { code, message: strip(err.message, `node ${node.name}: `) };
  // OpenSSL's own text is a wall of hex; its `reason` ("wrong version number") is the part people can use.
  const reason = (err as { reason?: unknown } | undefined)?.reason;
  if (/^ERR_SSL_|^EPROTO$/.test(code)) return { code, message: `TLS with the kubelet failed: ${typeof reason === 'string' ? reason : code}` };
  return { code, message: err instanceof Error ? err.message : String(err) };
}

const TIMEOUT_CONTEXT: Readonly<Record<CheckStepName, string>> = {
  tcp: 'TCP connect',
  handshake: 'SSH handshake',
  auth: 'authentication',
  channel: 'opening a channel to the kubelet port',
  kubelet: 'waiting for the kubelet',
};

function isHostKeyError(err: unknown): boolean {
  return err instanceof HostKeyMismatchError || err instanceof HostKeyUnknownError || err instanceof HostKeyRevokedError || err instanceof KnownHostsError;
}

function codeOf(err: unknown): string {
  if (err instanceof EgressError) return err.code;
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : 'ERR_CHECK';
}

/** Drops a known prefix and an infix (the node's name, which the row already shows) from a library message. */
function strip(message: string, prefix: string, infix = ''): string {
  const head = message.startsWith(prefix) ? message.slice(prefix.length) : message;
  return infix === '' ? head : head.replace(infix, '');
}
