// The peer process: the servers every benchmark talks to, and a client that goes through a proxy (HTTP CONNECT
// or SOCKS5), in a process of their own so that the bench process measures only what it carries.
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { bulkServer, echoServer, firstByte, greeterServer, transfer, type Direction } from './traffic.js';
import { encodeConnectRequest } from '../../src/ssh/socks5-client.js';
import { socks5Exchange } from '../../src/ssh/socks5-exchange.js';

export interface PeerPorts {
  bulk: number;
  echo: number;
  greeter: number;
}

/** Where the proxy listens (a loopback TCP port or a Unix socket path) and what it speaks (default HTTP CONNECT). */
export type Proxy = ({ port: number } | { path: string }) & { protocol?: 'connect' | 'socks5' };

export type PeerRequest =
  | { id: number; op: 'connect-transfer'; proxy: Proxy; target: string; dir: Direction; bytes: number }
  /** `count` dials, or fewer once `budgetMs` has passed (never fewer than `minCount`). */
  | { id: number; op: 'connect-latency'; proxy: Proxy; target: string; clientFirst: boolean; count: number; budgetMs?: number; minCount?: number }
  | { id: number; op: 'rss' };

async function listen(handler: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ noDelay: true }, handler);
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return (server.address() as net.AddressInfo).port;
}

function connectTo(proxy: Proxy): net.Socket {
  return 'path' in proxy ? net.connect({ path: proxy.path }) : net.connect({ host: '127.0.0.1', port: proxy.port, noDelay: true });
}

const viaProxy = (proxy: Proxy, target: string): Promise<Duplex> => (proxy.protocol === 'socks5' ? viaSocks5(proxy, target) : viaConnect(proxy, target));

/** A client connection through a SOCKS5 proxy (no authentication), the greeting and CONNECT written together. */
async function viaSocks5(proxy: Proxy, target: string): Promise<Duplex> {
  const sock = connectTo(proxy);
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.once('connect', () => {
      sock.off('error', reject);
      resolve();
    });
  });
  const colon = target.lastIndexOf(':');
  const outcome = await socks5Exchange(sock, encodeConnectRequest(target.slice(0, colon), Number(target.slice(colon + 1))), 5000);
  if (outcome.kind !== 'ok') {
    sock.destroy();
    throw new Error(`SOCKS5 proxy: ${JSON.stringify(outcome)}`);
  }
  return sock;
}

/** A client connection through an HTTP CONNECT proxy, as curl -p -x or kube-apiserver opens one. */
function viaConnect(proxy: Proxy, target: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sock = connectTo(proxy);
    sock.once('error', reject);
    sock.once('connect', () => sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      sock.pause();
      sock.off('error', reject);
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.1 200 /.test(status)) {
        sock.destroy();
        reject(new Error(`proxy answered ${status}`));
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length > 0) sock.unshift(rest);
      resolve(sock);
    };
    sock.on('data', onData);
  });
}

async function handle(req: PeerRequest): Promise<unknown> {
  switch (req.op) {
    case 'connect-transfer': {
      const sock = await viaProxy(req.proxy, req.target);
      try {
        return await transfer(sock, req.dir, req.bytes);
      } finally {
        sock.destroy();
      }
    }
    case 'connect-latency': {
      const samples: number[] = [];
      const until = performance.now() + (req.budgetMs ?? Infinity);
      for (let i = 0; i < req.count && (i < (req.minCount ?? 0) || performance.now() < until); i++) {
        samples.push(await firstByte(() => viaProxy(req.proxy, req.target), req.clientFirst));
      }
      return samples;
    }
    case 'rss':
      return process.memoryUsage().rss;
  }
}

const ports: PeerPorts = { bulk: await listen(bulkServer), echo: await listen(echoServer), greeter: await listen(greeterServer) };
process.on('message', (msg: PeerRequest) => {
  handle(msg).then(
    (result) => process.send?.({ id: msg.id, result }),
    (err: Error) => process.send?.({ id: msg.id, error: err.message }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ ready: ports });
