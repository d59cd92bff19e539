/**
 * Makes an @kubernetes/client-node KubeConfig send its requests through the tunnels: for a kubeconfig
 * whose server is a kubelet, a pod or a Service's ClusterIP (such as the `kubernetes` Service,
 * https://10.96.0.1), reachable only from the nodes.
 *
 * client-node builds a fresh agent (1.x) or undici dispatcher (2.x) for every request from the kubeconfig's
 * TLS settings. withEgress() keeps its authentication and TLS choices and swaps only the transport:
 *  - 1.x: applySecurityAuthentication (generated API clients) sets a tunnel https/http Agent on the request;
 *  - 2.x: createDispatcherOptions returns its 'agent' kind with a connector function, which client-node
 *    hands to its own undici Agent (`new Agent({ connect })`), so the dispatcher matches its fetch;
 *  - both: applyToHTTPSOptions (Watch, Log, Metrics, Health in 1.x; exec, attach, port-forward WebSockets)
 *    gets a tunnel Agent.
 * cluster.proxyUrl is not used: the tunnel is the way there.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type https from 'node:https';
import type tls from 'node:tls';
import type { Dialer } from '../dialer/dialer.js';
import type { KubeConfigShape } from './kube-config-shape.js';

/** What withEgress touches of a KubeConfig; client-node 1.x and 2.x both fit. */
export interface EgressCapableKubeConfig extends KubeConfigShape {
  /** 2.x only. */
  createDispatcherOptions?(cluster: unknown, agentOptions: https.AgentOptions): unknown;
}

export interface EgressOptions {
  /**
   * For the tunnel agents (keepAlive, maxSockets...). Default `{ keepAlive: false }`: client-node makes a
   * new agent per request anyway, and a stream through a tunnel costs one SSH channel (well under 1 ms).
   */
  agentOptions?: http.AgentOptions;
}

/** 1.x RequestContext: the generated clients send with the agent set here. */
interface RequestContextV1 {
  getUrl(): string;
  getAgent(): unknown;
  setAgent(agent: http.Agent): void;
}

const PATCHED = Symbol.for('ssh-egress.withEgress');

/** Patches `kubeConfig` in place (and returns it) so every request it configures dials through `dialer`. */
export function withEgress<K extends EgressCapableKubeConfig>(kubeConfig: K, dialer: Dialer, options: EgressOptions = {}): K {
  const target = kubeConfig as K & { [PATCHED]?: true };
  if (target[PATCHED]) return kubeConfig;
  target[PATCHED] = true;
  const agents = new TunnelAgents(dialer, { keepAlive: false, ...options.agentOptions });
  const server = (): string => kubeConfig.getCurrentCluster()?.server ?? '';

  const applyToHTTPSOptions = kubeConfig.applyToHTTPSOptions.bind(kubeConfig);
  kubeConfig.applyToHTTPSOptions = async (opts: object) => {
    await applyToHTTPSOptions(opts);
    const request = opts as https.RequestOptions;
    request.agent = agents.for(server(), request);
  };

  const createDispatcherOptions = kubeConfig.createDispatcherOptions?.bind(kubeConfig);
  if (createDispatcherOptions) {
    kubeConfig.createDispatcherOptions = (cluster: unknown, agentOptions: https.AgentOptions) => {
      createDispatcherOptions(cluster, agentOptions); // keeps its checks (plain http needs skipTLSVerify)
      return { type: 'agent', connect: dialer.undiciConnector(tlsSettings(agentOptions)) };
    };
    return kubeConfig;
  }

  const applySecurityAuthentication = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  kubeConfig.applySecurityAuthentication = async (context: object) => {
    await applySecurityAuthentication(context);
    const request = context as RequestContextV1;
    // The agent client-node just made holds the kubeconfig's CA, client certificate and TLS choices.
    const made = request.getAgent() as { options?: https.AgentOptions } | undefined;
    request.setAgent(agents.for(request.getUrl(), made?.options ?? {}));
  };
  return kubeConfig;
}

/** One tunnel agent per scheme and TLS material, so equal requests share it (and its kept-alive streams). */
class TunnelAgents {
  private readonly cache = new Map<string, http.Agent>();

  constructor(
    private readonly dialer: Dialer,
    private readonly agentOptions: http.AgentOptions,
  ) {}

  for(url: string, source: https.AgentOptions | https.RequestOptions): http.Agent {
    const secure = !url.startsWith('http:');
    const settings = secure ? tlsSettings(source) : {};
    const key = fingerprint(secure, settings);
    let agent = this.cache.get(key);
    if (!agent) {
      agent = secure ? this.dialer.httpsAgent({ ...this.agentOptions, ...settings }) : this.dialer.httpAgent(this.agentOptions);
      this.cache.set(key, agent);
    }
    return agent;
  }
}

/** The TLS settings client-node derives from a kubeconfig (CA, client certificate, skip-verify, server name). */
function tlsSettings(source: https.AgentOptions | https.RequestOptions): tls.ConnectionOptions {
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = source;
  const settings: tls.ConnectionOptions = { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername };
  for (const k of Object.keys(settings) as (keyof tls.ConnectionOptions)[]) if (settings[k] === undefined) delete settings[k];
  return settings;
}

function fingerprint(secure: boolean, settings: tls.ConnectionOptions): string {
  const hash = createHash('sha256').update(secure ? 'https' : 'http');
  for (const [k, v] of Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))) {
    hash.update(`\0${k}\0`);
    // A Buffer (or a list of them) serializes as its bytes: equal material, equal key.
    hash.update(JSON.stringify(v));
  }
  return hash.digest('hex');
}
