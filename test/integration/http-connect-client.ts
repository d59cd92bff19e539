// A raw HTTP CONNECT client for tests: writes exact bytes, as kube-apiserver does, and checks exact bytes back.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';

/** What kube-apiserver's HTTPConnect egress writes for one dial, byte for byte. */
export const apiserverRequest = (target: string): string => `CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;

export const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

export interface ConnectReply {
  /** The response head, up to and including the empty line. */
  head: string;
  /** Bytes that came after the head within `quietMs` of it: must be none before the client speaks. */
  extra: Buffer;
  socket: Duplex;
}

/**
 * Writes `request`, waits for a complete response head and then `quietMs` longer, and hands back the
 * socket paused with nothing consumed beyond what `extra` reports.
 */
export function sendConnect(socket: Duplex, request: string | Buffer, quietMs = 150): Promise<ConnectReply> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0 || settled) return;
      settled = true;
      setTimeout(() => {
        socket.off('data', onData);
        socket.pause();
        socket.off('error', fail);
        resolve({ head: received.toString('latin1', 0, end + 4), extra: received.subarray(end + 4), socket });
      }, quietMs);
    };
    socket.on('data', onData);
    socket.on('error', fail);
    socket.once('close', () => fail(new Error(`closed before a response head; got ${JSON.stringify(received.toString('latin1'))}`)));
    socket.write(request);
  });
}

/** Writes `request` (if any) and collects everything until the server closes. Socket errors end it too. */
export function exchange(socket: Duplex, request?: string | Buffer): Promise<{ text: string; error: Error | undefined }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: Error | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => (error = err));
    socket.once('close', () => resolve({ text: Buffer.concat(chunks).toString('latin1'), error }));
    if (request !== undefined) socket.write(request);
  });
}

/** GET over an already-established tunnel (plain HTTP, or HTTPS when `ca` is given). */
export function getOver(socket: Duplex, url: string, ca?: string | Buffer): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    };
    // sendConnect() left the socket paused; a new 'data' listener does not undo an explicit pause().
    const connection = (): Duplex => {
      const conn = u.protocol === 'https:' ? tls.connect({ socket, ca, host: u.hostname }) : socket;
      setImmediate(() => socket.resume());
      return conn;
    };
    // No agent: the request must use this socket, never open a connection of its own.
    const req = (u.protocol === 'https:' ? https : http).get(url, { createConnection: connection as never }, onResponse);
    req.on('error', reject);
  });
}

/** The status line's code. */
export const statusOf = (text: string): number => Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1] ?? 0);
