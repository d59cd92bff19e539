// The traffic every benchmark sends: a bulk protocol (upload N bytes / download N bytes), an echo and a
// greeter, with the client side of each, timed. Shared by the bench process and the peer process.
import { once } from 'node:events';
import net from 'node:net';
import type { Duplex } from 'node:stream';

export const CHUNK = Buffer.alloc(256 * 1024, 'ssh-egress benchmark payload ');
export const GREETING = Buffer.from('SSH-2.0-greeter\r\n');
export const PING = Buffer.from('ping\n');

/** Bulk server: the client sends "U" or "D" and a 64-bit length; U: it sends that many bytes and gets "K"; D: it receives them. */
export function bulkServer(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let header = Buffer.alloc(0);
  let left = -1;
  const onData = (chunk: Buffer): void => {
    if (left < 0) {
      header = Buffer.concat([header, chunk]);
      if (header.length < 9) return;
      const op = String.fromCharCode(header[0] as number);
      left = Number(header.readBigUInt64BE(1));
      chunk = header.subarray(9);
      if (op === 'D') {
        socket.off('data', onData);
        socket.resume();
        void writeAll(socket, left).then(() => socket.end(), () => socket.destroy());
        return;
      }
    }
    left -= chunk.length;
    if (left === 0) socket.write('K');
  };
  socket.on('data', onData);
}

export function echoServer(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.pipe(socket);
}

/** Speaks first, as sshd, SMTP or a database does; then echoes. */
export function greeterServer(socket: net.Socket): void {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.write(GREETING);
  socket.pipe(socket);
}

/** Writes `bytes` bytes of CHUNK, waiting for 'drain' whenever write() asks to. */
export async function writeAll(sock: Duplex, bytes: number): Promise<void> {
  let left = bytes;
  while (left > 0) {
    const n = Math.min(left, CHUNK.length);
    left -= n;
    if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) await once(sock, 'drain');
  }
}

function header(op: 'U' | 'D', bytes: number): Buffer {
  const b = Buffer.alloc(9);
  b.write(op, 0);
  b.writeBigUInt64BE(BigInt(bytes), 1);
  return b;
}

/** Sends `bytes` to the bulk server; ms until it confirmed receiving the last byte. */
export async function upload(sock: Duplex, bytes: number): Promise<number> {
  const t0 = performance.now();
  const confirmed = new Promise<void>((resolve, reject) => {
    sock.once('data', () => resolve());
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('stream closed before the upload was confirmed')));
  });
  sock.resume(); // a stream handed over paused (after a proxy's reply) flows from here
  sock.write(header('U', bytes));
  await writeAll(sock, bytes);
  await confirmed;
  return performance.now() - t0;
}

/** Asks the bulk server for `bytes`; ms until the last one arrived. */
export async function download(sock: Duplex, bytes: number): Promise<number> {
  const t0 = performance.now();
  const done = new Promise<void>((resolve, reject) => {
    let got = 0;
    sock.on('data', (chunk: Buffer) => {
      got += chunk.length;
      if (got >= bytes) resolve();
    });
    sock.once('error', reject);
    sock.once('close', () => reject(new Error(`stream closed after ${got} of ${bytes} bytes`)));
  });
  sock.resume();
  sock.write(header('D', bytes));
  await done;
  return performance.now() - t0;
}

export type Direction = 'up' | 'down';
export const transfer = (sock: Duplex, dir: Direction, bytes: number): Promise<number> =>
  dir === 'up' ? upload(sock, bytes) : download(sock, bytes);

/** Opens a stream to a server; the thing each side of a comparison differs in. */
export type Opener = () => Promise<Duplex>;

/**
 * Dial to first byte, in ms: open, then (client speaks first) write a ping, and wait for the first byte back.
 * The stream is destroyed afterwards.
 */
export async function firstByte(open: Opener, clientFirst: boolean, timeoutMs = 5000): Promise<number> {
  const t0 = performance.now();
  const sock = await open();
  try {
    const first = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no first byte within ${timeoutMs} ms`)), timeoutMs);
      sock.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.once('error', reject);
    });
    sock.resume();
    if (clientFirst) sock.write(PING);
    await first;
    return performance.now() - t0;
  } finally {
    sock.destroy();
  }
}

/** A plain TCP connection with Nagle off, resolved once connected. */
export function tcpOpener(host: string, port: number): Opener {
  return () =>
    new Promise((resolve, reject) => {
      const sock = net.connect({ host, port, noDelay: true });
      sock.once('connect', () => {
        sock.off('error', reject);
        resolve(sock);
      });
      sock.once('error', reject);
    });
}
