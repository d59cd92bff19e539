import net from 'node:net';
import { ConnectError } from '../errors.js';
import type { NodeSpec } from '../nodes/node-spec.js';

const PLAIN_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  ENOTFOUND: 'name not found',
  EAI_AGAIN: 'name lookup failed',
};

/** "connection refused (198.18.0.11:22)" from a socket error, for people reading status and logs. */
export function describeSocketError(err: NodeJS.ErrnoException, host: string, port: number): string {
  const words = (err.code && PLAIN_WORDS[err.code]) ?? err.message;
  return `${words} (${host}:${port})`;
}

/** Opens the TCP connection to a node's sshd, with Nagle off (each channel open would cost ~43 ms). */
export function tcpConnect(node: NodeSpec, timeoutMs: number, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: node.address, port: node.sshPort });
    const fail = (err: ConnectError): void => {
      cleanup();
      sock.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(new ConnectError(node.name, describeSocketError(err, node.address, node.sshPort), err));
    const onAbort = (): void => fail(new ConnectError(node.name, 'connection attempt cancelled', signal.reason));
    const timer = setTimeout(
      () => fail(new ConnectError(node.name, `no answer from ${node.address}:${node.sshPort} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const cleanup = (): void => {
      clearTimeout(timer);
      sock.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    sock.once('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      cleanup();
      sock.setNoDelay(true);
      sock.setKeepAlive(true, 30_000);
      resolve(sock);
    });
  });
}
