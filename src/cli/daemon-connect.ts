/**
 * The client side of the daemon's HTTP CONNECT front end, for `ssh-egress dial --connect-socket`: one
 * CONNECT per stream over the daemon's Unix socket (or loopback TCP), so a ProxyCommand reuses the
 * daemon's tunnels instead of opening its own SSH connection.
 */
import net from 'node:net';
import { DaemonRefusedError, DaemonUnreachableError } from '../errors.js';

export type DaemonAddress = { path: string } | { host: string; port: number };

/** A response head longer than this is not from our daemon. */
const MAX_RESPONSE_BYTES = 16 * 1024;

const SOCKET_ERRORS: Record<string, string> = {
  ENOENT: 'no such socket (is the daemon running, with listeners.connect on this path?)',
  ECONNREFUSED: 'connection refused (is the daemon running?)',
  EACCES: 'permission denied (the socket is mode 0600 for the daemon\'s user by default)',
  ECONNRESET: 'connection reset',
};

export function describeDaemon(daemon: DaemonAddress): string {
  return 'path' in daemon ? daemon.path : `${daemon.host.includes(':') ? `[${daemon.host}]` : daemon.host}:${daemon.port}`;
}

/** Resolves with the stream to `target` once the daemon answered 200; bytes after the head stay readable. */
export function connectThroughDaemon(daemon: DaemonAddress, target: string, timeoutMs: number): Promise<net.Socket> {
  const where = describeDaemon(daemon);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ ...daemon, allowHalfOpen: true });
    let received = Buffer.alloc(0);
    let status: number | undefined;
    let settled = false;
    const settle = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve(socket);
      }
    };
    const timer = setTimeout(() => settle(new DaemonUnreachableError(where, `no answer to CONNECT ${target} within ${timeoutMs} ms`)), timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => settle(new DaemonUnreachableError(where, SOCKET_ERRORS[err.code ?? ''] ?? err.message, err));
    // A refusal's body (one line: the reason) ends with the connection; a close before any head is no daemon.
    const onEnd = (): void =>
      settle(status === undefined ? new DaemonUnreachableError(where, 'it closed the connection without answering') : refusal(target, status, received));
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      if (status !== undefined) return; // collecting a refusal's body
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) {
        if (received.length > MAX_RESPONSE_BYTES) settle(new DaemonUnreachableError(where, 'its answer is not an HTTP response'));
        return;
      }
      const code = /^HTTP\/1\.[01] (\d{3})[ \r]/.exec(received.toString('latin1', 0, end + 2))?.[1];
      if (code === undefined) return settle(new DaemonUnreachableError(where, 'its answer is not an HTTP response'));
      status = Number(code);
      received = received.subarray(end + 4);
      if (status !== 200) return;
      socket.pause(); // until the caller pipes it: with no 'data' listener a flowing socket would drop bytes
      if (received.length > 0) socket.unshift(received);
      settle(undefined);
    };
    socket.once('connect', () => socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`));
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
  });
}

function refusal(target: string, status: number, body: Buffer): DaemonRefusedError {
  const reason = body.toString('utf8').split('\n', 1)[0]?.trim() ?? '';
  return new DaemonRefusedError(target, status, reason);
}
