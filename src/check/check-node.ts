import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { HostKeyMismatchError, HostKeyUnknownError } from '../errors.js';
import { KubeletCertificateError } from '../tls/kubelet-certificate-error.js';
import { KubeletStatusError } from '../tls/kubelet-status-error.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import type { CertificateInfo } from '../tls/certificate-info.js';
import { probeKubelet } from '../tls/probe-kubelet.js';
import { withDeadline } from '../timing/deadline.js';
import type { SshConnector, SshSession } from '../ssh/ssh-session.js';
import type { ConnectObserver } from '../ssh/ssh2-connector.js';
import type { CheckStepName, KubeletCheck, KubeletCertificateSummary, NodeCheckResult } from './check-result.js';
import { describeFailure, stepOfFailure } from './plain-words.js';
import { StepClock } from './step-clock.js';

export interface KubeletCheckOptions {
  /** Without `ca` (and with rejectUnauthorized false) the certificate is reported, not verified. */
  tls: tls.ConnectionOptions;
  /** Default '/healthz'. */
  path: string;
}

export interface NodeCheckOptions {
  /** A connector that reports its milestones to `observer` (createSsh2Connector with `observer`). */
  connectorFor(observer: ConnectObserver): SshConnector;
  /** The SSH user, for messages. */
  user: string;
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  /** Opening the channel and the kubelet's TLS handshake and answer, each. */
  stepTimeoutMs: number;
  /** Undefined: stop after authentication (channel and kubelet steps skipped, not failed). */
  kubelet: KubeletCheckOptions | undefined;
  signal?: AbortSignal;
}

/**
 * Checks one node step by step: TCP, SSH handshake with the host key verified, authentication, a channel
 * to the kubelet port, GET /healthz over TLS. Never rejects: a failure is the failed step in the result.
 */
export async function checkNode(node: NodeSpec, options: NodeCheckOptions): Promise<NodeCheckResult> {
  const clock = new StepClock();
  const result: NodeCheckResult = {
    name: node.name,
    address: node.address,
    sshPort: node.sshPort,
    ok: false,
    ms: 0,
    steps: [],
    hostKeyFingerprint: null,
    kubelet: null,
  };
  const observer: ConnectObserver = {
    tcpConnected: () => clock.mark('tcp'),
    hostKeyVerified: (_node, fingerprint) => {
      result.hostKeyFingerprint = fingerprint;
      clock.mark('handshake');
    },
    authenticated: () => clock.mark('auth'),
  };
  const signal = options.signal ?? new AbortController().signal;
  let session: SshSession | undefined;
  try {
    session = await options.connectorFor(observer)(node, signal);
    if (options.kubelet) {
      const stream = await openKubeletChannel(session, node, options, signal);
      clock.mark('channel');
      result.kubelet = await probe(stream, node, options.kubelet, options.stepTimeoutMs, signal);
      if (result.kubelet.status !== 200) throw new KubeletStatusError(statusWords(result.kubelet.status ?? 0, options.kubelet.path));
      clock.mark('kubelet');
    }
    result.steps = clock.steps();
    result.ok = true;
  } catch (err) {
    const reached: CheckStepName = clock.current ?? 'kubelet';
    const step = stepOfFailure(err, reached);
    if (err instanceof HostKeyMismatchError || err instanceof HostKeyUnknownError) result.hostKeyFingerprint = err.actual;
    if (err instanceof KubeletCertificateError && err.certificate) {
      result.kubelet = { status: null, verified: false, certificate: summarize(err.certificate) };
    }
    result.steps = clock.steps({ step, error: describeFailure(err, step, { ...options, node }) });
  } finally {
    session?.close();
  }
  result.ms = Math.round(clock.elapsedMs * 10) / 10;
  return result;
}

function openKubeletChannel(session: SshSession, node: NodeSpec, options: NodeCheckOptions, signal: AbortSignal): Promise<Duplex> {
  const target = `${node.address}:${node.kubeletPort}`;
  const timeoutMs = options.stepTimeoutMs;
  const deadline = { target, signal, deadline: Date.now() + timeoutMs, timeoutMs };
  // A channel confirmed after we gave up is closed, not leaked.
  const opening = session.openChannel(node.address, node.kubeletPort).then((channel) => channel.stream);
  return withDeadline(opening, deadline, node.name, 'opening the channel', (late) => late.destroy());
}

async function probe(stream: Duplex, node: NodeSpec, kubelet: KubeletCheckOptions, timeoutMs: number, signal: AbortSignal): Promise<KubeletCheck> {
  const r = await probeKubelet(stream, node, kubelet.tls, kubelet.path, timeoutMs, signal);
  return { status: r.status, verified: r.authorized && kubelet.tls.ca !== undefined, certificate: summarize(r.certificate) };
}

function summarize(c: CertificateInfo): KubeletCertificateSummary {
  return { subject: c.subject.text, issuer: c.issuer.text, sans: c.subjectAltNames, notAfter: c.notAfter, daysToExpiry: c.daysToExpiry };
}

function statusWords(status: number, path: string): string {
  const hint =
    status === 401 || status === 403
      ? ': it refuses this request; give the API server\'s kubelet client certificate (--kubelet-client-cert, --kubelet-client-key) or --no-kubelet'
      : '';
  return `kubelet answered HTTP ${status} to GET ${path}${hint}`;
}
