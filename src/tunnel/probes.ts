import type { OpenStreamOptions } from './tunnel.js';
import type { Probe, ProbeLimits } from './health-monitor.js';
import type { ResolvedHealthCheck } from './health-check-options.js';
import { probeKubelet } from '../tls/probe-kubelet.js';

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

/** Opens a channel to the node's port and closes it: sshd and the port both answer. */
export function tcpProbe(port: number | undefined): Probe {
  return async (tunnel, limits) => {
    const node = tunnel.spec;
    const target = port ?? node.kubeletPort;
    const stream = await tunnel.openStream(node.address, target, probeStreamOptions(node.address, target, limits));
    stream.destroy();
  };
}

export function probeStreamOptions(host: string, port: number, limits: ProbeLimits): OpenStreamOptions {
  return { target: `health check of ${host}:${port}`, signal: limits.signal, deadline: Date.now() + limits.timeoutMs, timeoutMs: limits.timeoutMs };
}

/**
 * GET https://<node>:<kubeletPort><path> through the tunnel must answer 200. With a CA in `tls` the
 * certificate must chain to it and name the node; without one it is not checked (liveness only).
 */
export function kubeletHttpsProbe(path: string, tls: import('node:tls').ConnectionOptions): Probe {
  const tlsOptions = tls.ca ? tls : { ...tls, rejectUnauthorized: false };
  return async (tunnel, limits) => {
    const node = tunnel.spec;
    const stream = await tunnel.openStream(node.address, node.kubeletPort, probeStreamOptions(node.address, node.kubeletPort, limits));
    const result = await probeKubelet(stream, node, tlsOptions, path, limits.timeoutMs, limits.signal);
    if (result.status !== 200) throw new Error(`kubelet answered HTTP ${result.status} to GET ${path}`);
  };
}
