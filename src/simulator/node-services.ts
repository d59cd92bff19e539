import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { TlsCredentials } from './cluster-pki.js';
import { LoopbackService, type StreamIdentity } from './loopback-service.js';
import type { ServiceKind } from './routes.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, who: StreamIdentity) => void;

function reply(res: http.ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function whoami(res: http.ServerResponse, who: StreamIdentity): void {
  reply(res, 200, JSON.stringify({ node: who.node, addr: who.addr, port: who.port }), 'application/json');
}

/** Pods, the ClusterIP and node port 9100: whoami, and a streamed sha256 to check payload integrity. */
const appHandler: Handler = (req, res, who) => {
  if (req.method === 'GET' && req.url === '/whoami') return whoami(res, who);
  if (req.method === 'GET' && req.url === '/healthz') return reply(res, 200, 'ok');
  if (req.method === 'POST' && req.url === '/sha256') {
    const hash = createHash('sha256');
    req.on('data', (chunk: Buffer) => hash.update(chunk));
    req.on('end', () => reply(res, 200, hash.digest('hex')));
    return;
  }
  reply(res, 404, 'not found');
};

/** The kubelet stand-in: what a control plane probes first. */
function kubeletHandler(isHealthy: (node: string) => boolean): Handler {
  return (req, res, who) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      return isHealthy(who.node) ? reply(res, 200, 'ok') : reply(res, 500, '[-]simulated failure');
    }
    if (req.method === 'GET' && req.url === '/whoami') return whoami(res, who);
    reply(res, 404, 'not found');
  };
}

function withIdentity(service: () => LoopbackService, handler: Handler): http.RequestListener {
  return (req, res) => {
    const who = service().identityOf(req.socket);
    // Only streams bridged by a fake node have an identity; a direct connection is not part of the simulation.
    if (who === undefined) return reply(res, 421, 'not reached through a simulated node');
    handler(req, res, who);
  };
}

function httpService(handler: Handler): LoopbackService {
  const service: LoopbackService = new LoopbackService(http.createServer(withIdentity(() => service, handler)));
  return service;
}

function echoService(): LoopbackService {
  // allowHalfOpen: after the client's EOF the echo finishes writing, then ends (pipe ends it).
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => socket.destroy());
    socket.pipe(socket);
  });
  return new LoopbackService(server);
}

/**
 * The real servers behind every simulated address, all on 127.0.0.1: one echo, one HTTP app server
 * shared by every pod, ClusterIP and node port, and one HTTPS kubelet per node (each has its own cert).
 */
export class NodeServices {
  /** Nodes whose kubelet reports unhealthy (fault injection). */
  private readonly unhealthyKubelets = new Set<string>();

  private constructor(
    private readonly echo: LoopbackService,
    private readonly app: LoopbackService,
    private readonly kubelets: Map<string, LoopbackService>,
  ) {}

  /** `kubeletCredentials`: node name -> serving cert for that node's kubelet. */
  static async start(kubeletCredentials: Map<string, TlsCredentials>): Promise<NodeServices> {
    const kubelets = new Map<string, LoopbackService>();
    const services = new NodeServices(echoService(), httpService(appHandler), kubelets);
    const handler = kubeletHandler((node) => !services.unhealthyKubelets.has(node));
    for (const [node, creds] of kubeletCredentials) {
      const service: LoopbackService = new LoopbackService(
        https.createServer({ cert: creds.certPem, key: creds.keyPem }, withIdentity(() => service, handler)),
      );
      kubelets.set(node, service);
    }
    try {
      await Promise.all(services.all().map((s) => s.listen()));
    } catch (err) {
      await services.close();
      throw err;
    }
    return services;
  }

  setKubeletHealthy(node: string, healthy: boolean): void {
    if (healthy) this.unhealthyKubelets.delete(node);
    else this.unhealthyKubelets.add(node);
  }

  /** Connects to the server for `kind` on behalf of `who`; rejects when it cannot. */
  connect(kind: ServiceKind, who: StreamIdentity): Promise<net.Socket> {
    switch (kind) {
      case 'echo':
        return this.echo.connect(who);
      case 'app':
      case 'node-http':
        return this.app.connect(who);
      case 'kubelet': {
        const kubelet = this.kubelets.get(who.node);
        if (kubelet === undefined) return Promise.reject(new Error(`no kubelet for node ${who.node}`));
        return kubelet.connect(who);
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((s) => s.close()));
  }

  private all(): LoopbackService[] {
    return [this.echo, this.app, ...this.kubelets.values()];
  }
}
