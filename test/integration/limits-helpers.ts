// Small clients for the limits and hostile-client tests: a CONNECT or SOCKS5 dial that reports the answer,
// and an echo round that checks every byte.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { apiserverRequest, statusOf } from './http-connect-client.js';

export type Endpoint = { port: number; host?: string } | { path: string };

export interface Dialled {
  /** HTTP status, or the SOCKS5 reply code. */
  status: number;
  /** For a refusal: the whole answer (HTTP) as text. */
  text: string;
  /** Open when the dial succeeded; the caller ends it. */
  socket: net.Socket;
}

const open = (at: Endpoint, localAddress?: string): net.Socket =>
  'path' in at ? net.connect(at.path) : net.connect({ port: at.port, host: at.host ?? '127.0.0.1', ...(localAddress && { localAddress }) });

/** Reads until `done(buffer)` says how many bytes make the answer, or the socket ends. */
function readAnswer(socket: net.Socket, done: (buf: Buffer) => number | undefined): Promise<{ answer: Buffer; rest: Buffer; ended: boolean }> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const finish = (ended: boolean, used = buf.length): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve({ answer: buf.subarray(0, used), rest: buf.subarray(used), ended });
    };
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const used = done(buf);
      if (used !== undefined) finish(false, used);
    };
    const onClose = (): void => finish(true);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
  });
}

/** CONNECT as kube-apiserver does; a refusal is read to its end (the server closes after it). */
export async function httpConnect(at: Endpoint, target: string, localAddress?: string): Promise<Dialled> {
  const socket = open(at, localAddress);
  socket.write(apiserverRequest(target));
  const { answer, ended } = await readAnswer(socket, (buf) => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    // A refusal has a body: wait for the close that follows it.
    return statusOf(buf.toString('latin1')) === 200 ? end + 4 : undefined;
  });
  const text = answer.toString('latin1');
  return { status: statusOf(text) || (ended ? 0 : -1), text, socket };
}

/** SOCKS5 CONNECT (no auth) to an IPv4 address; status is the reply code (0 = succeeded). */
export async function socksConnect(at: Endpoint, ip: string, port: number, localAddress?: string): Promise<Dialled> {
  const socket = open(at, localAddress);
  socket.write(Buffer.from([5, 1, 0, 5, 1, 0, 1, ...ip.split('.').map(Number), port >> 8, port & 0xff]));
  const { answer } = await readAnswer(socket, (buf) => (buf.length >= 12 ? 12 : undefined));
  const status = answer.length >= 12 ? (answer[3] as number) : -1;
  return { status, text: '', socket };
}

/** Sends `size` random bytes through an echo stream, half-closes, and checks what comes back. */
export async function echoRound(socket: net.Socket, size: number): Promise<'intact' | 'corrupted' | 'truncated'> {
  const payload = randomBytes(size);
  const back: Buffer[] = [];
  socket.on('data', (c: Buffer) => back.push(c));
  socket.resume();
  socket.end(payload);
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => undefined);
  });
  const got = Buffer.concat(back);
  if (got.length < payload.length) return payload.subarray(0, got.length).equals(got) ? 'truncated' : 'corrupted';
  return digest(got) === digest(payload) ? 'intact' : 'corrupted';
}

const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export async function waitFor(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
