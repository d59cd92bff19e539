import { createSecureContext, type ConnectionOptions, type SecureContext } from 'node:tls';
import { DialAbortedError, DialTimeoutError, TunnelClosedError } from '../errors.js';
import type { OpenStreamOptions, Tunnel } from './tunnel.js';
import type { TunnelSocket } from './tunnel-socket.js';
import type { Probe, ProbeLimits } from './health-monitor.js';
import type { ResolvedHealthCheck } from './health-check-options.js';
import { ProbeConnectionError } from './probe-failure.js';
import { probeKubelet } from '../tls/probe-kubelet.js';
import { KubeletStatusError } from '../tls/kubelet-status-error.js';

/** The probe a health-check configuration asks for; none for 'ssh', where keepalive alone decides. */
export function probeFor(health: ResolvedHealthCheck): Probe | undefined {
  switch (health.kind) {
    case 'ssh':
      return undefined;
    case 'tcp':
      return tcpProbe(health.port);
    case 'kubelet-https':
      return kubeletHttpsProbe(health.path, health.tls ?? {});
  }
}

/** Whether the probes check the kubelet's certificate against a CA; undefined when they do not speak to a kubelet. */
export function kubeletVerification(health: ResolvedHealthCheck): boolean | undefined {
  return health.kind === 'kubelet-https' ? health.tls?.ca !== undefined : undefined;
}

/** Opens a channel to the node's port and closes it: sshd and the port both answer. */
export function tcpProbe(port: number | undefined): Probe {
  return async (tunnel, limits) => {
    const node = tunnel.spec;
    const stream = await openProbeStream(tunnel, node.address, port ?? node.kubeletPort, limits);
    stream.destroy();
  };
}

/**
 * GET https://<node>:<kubeletPort><path> through the tunnel must answer 200. With a CA in `tls` the
 * certificate must chain to it and name the node; without one it is not checked (liveness only).
 */
export function kubeletHttpsProbe(path: string, tls: ConnectionOptions): Probe {
  const tlsOptions = tls.ca ? tls : { ...tls, rejectUnauthorized: false };
  // One TLS context for every probe: tls.connect built one per probe (CA, cert and key parsed again), a
  // sixth of a probe's CPU. Built at the first probe, so unusable options fail each probe as before.
  let secureContext: SecureContext | undefined;
  return async (tunnel, limits) => {
    const node = tunnel.spec;
    secureContext ??= createSecureContext(tlsOptions);
    const stream = await openProbeStream(tunnel, node.address, node.kubeletPort, limits);
    const result = await probeKubelet(stream, node, { ...tlsOptions, secureContext }, path, limits.timeoutMs, limits.signal);
    if (result.status !== 200) throw new KubeletStatusError(`kubelet answered HTTP ${result.status} to GET ${path}`);
  };
}

/**
 * Opens the probe's channel, telling a failure of the SSH connection (ProbeConnectionError) from an answer
 * of the node's sshd (a refused port is a ChannelOpenError: the connection works, the node's port does not).
 */
async function openProbeStream(tunnel: Tunnel, host: string, port: number, limits: ProbeLimits): Promise<TunnelSocket> {
  try {
    return await tunnel.openStream(host, port, probeStreamOptions(host, port, limits));
  } catch (err) {
    const connectionFailed = err instanceof TunnelClosedError || err instanceof DialTimeoutError || err instanceof DialAbortedError;
    throw connectionFailed ? new ProbeConnectionError(err) : err;
  }
}

function probeStreamOptions(host: string, port: number, limits: ProbeLimits): OpenStreamOptions {
  return { target: `health check of ${host}:${port}`, signal: limits.signal, deadline: Date.now() + limits.timeoutMs, timeoutMs: limits.timeoutMs };
}
