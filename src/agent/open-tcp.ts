/** A TCP connection from the node, to a daemon or to a destination, with Nagle off and a time bound. */
import net from 'node:net';
import { describeSocketError } from '../ssh/tcp-connect.js';

export type TcpOutcome =
  | { ok: true; socket: net.Socket }
  /** `reason` in plain words with the address ("connection refused (10.0.0.5:8022)"). */
  | { ok: false; errno: string | undefined; timedOut: boolean; reason: string };

/**
 * `allowHalfOpen` for a destination: the daemon's EOF ends our sending side only, and the reply still comes
 * back. Not for an SSH connection, whose peer's FIN means it is gone.
 */
export function openTcp(address: string, port: number, timeoutMs: number, allowHalfOpen: boolean): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, allowHalfOpen });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, errno: undefined, timedOut: true, reason: `no answer from ${address}:${port} within ${timeoutMs} ms` });
    }, timeoutMs);
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      resolve({ ok: false, errno: err.code, timedOut: false, reason: describeSocketError(err, address, port) });
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      // Each small write (a SOCKS5 reply, an SSH packet) would otherwise wait for the last one's ACK.
      socket.setNoDelay(true);
      resolve({ ok: true, socket });
    });
  });
}
