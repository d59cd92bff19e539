// One soak stream: CONNECT through the daemon, then checksummed traffic to an echo, a sha256 service or a
// kubelet, classified as intact, failed cleanly (with why), corrupted, or hung (no end by its deadline).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export type StreamKind = 'echo' | 'sha256' | 'kubelet';

export interface StreamSpec {
  kind: StreamKind;
  /** host:port for the CONNECT line. */
  target: string;
  /** Bytes to send (echo, sha256). */
  size: number;
  /** For the kubelet's TLS check. */
  ca?: Buffer;
}

export type Outcome =
  | { result: 'intact'; connectMs: number }
  | { result: 'failed'; reason: string }
  | { result: 'corrupted'; reason: string }
  | { result: 'hung'; stage: string };

const HEAD_END = Buffer.from('\r\n\r\n');

/** Runs one stream to its outcome; never rejects, always settles by the deadline. */
export function runStream(proxy: { host: string; port: number }, spec: StreamSpec, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = net.connect(proxy.port, proxy.host);
    let stage = 'connecting to the daemon';
    let settled = false;
    const finish = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ result: 'hung', stage }), deadlineMs);
    const started = performance.now();
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (stage === 'connecting to the daemon') finish({ result: 'failed', reason: `daemon unreachable (${err.code ?? err.message})` });
    });
    socket.once('connect', () => {
      stage = 'waiting for the CONNECT answer';
      socket.write(`CONNECT ${spec.target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(HEAD_END);
      if (end < 0) return;
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head.toString('latin1'))?.[1] ?? 0);
      if (status !== 200) {
        // A refusal: wait for its one-line body (the server closes after it) for the error code.
        socket.off('close', onEarlyClose);
        socket.once('close', () => {
          const code = /\r\n\r\n(ERR_[A-Z_]+|internal)/.exec(head.toString('latin1'))?.[1] ?? 'no reason';
          finish({ result: 'failed', reason: `CONNECT ${status} ${code}` });
        });
        return;
      }
      socket.off('data', onHead);
      socket.off('close', onEarlyClose);
      const rest = head.subarray(end + 4);
      if (rest.length > 0) return finish({ result: 'corrupted', reason: 'bytes after the 200 before we spoke' });
      socket.pause();
      stage = `${spec.kind} traffic`;
      const connectMs = performance.now() - started;
      const local = socket.localPort ?? 0;
      const traffic = spec.kind === 'echo' ? echo(socket, spec.size) : spec.kind === 'sha256' ? sha256(socket, spec.size) : kubelet(socket, spec);
      traffic.then((o) => finish(o.result === 'intact' ? { result: 'intact', connectMs } : o.result === 'failed' ? howCut(o, local, proxy.port) : o));
    };
    const onEarlyClose = (): void => finish({ result: 'failed', reason: `closed during: ${stage}` });
    socket.on('data', onHead);
    socket.once('close', onEarlyClose);
  });
}

/** Why an established stream ended early: a reset is the daemon's way to say its tunnel failed. */
function cut(err: NodeJS.ErrnoException | undefined, what: string): Outcome {
  return { result: 'failed', reason: err ? `${what}: ${err.code ?? err.message}` : `${what}: clean end before the full answer` };
}

/**
 * Node.js 20's libuv reports a reset that arrives together with data as a clean end (libuv issue 2319), so a
 * short clean end is checked in the kernel's own table: after our FIN and the daemon's FIN, our side of the
 * connection sits in TIME_WAIT; after a reset it is gone. Only a real FIN is a daemon problem.
 */
function howCut(o: Extract<Outcome, { result: 'failed' }>, localPort: number, proxyPort: number): Outcome {
  if (!o.reason.includes('clean end')) return o;
  const hex = (n: number): string => n.toString(16).toUpperCase().padStart(4, '0');
  let table = '';
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return o; // cannot tell: keep the strict verdict
  }
  const timeWait = table.split('\n').some((line) => {
    const [, local, remote, state] = line.trim().split(/\s+/);
    return local?.endsWith(`:${hex(localPort)}`) && remote?.endsWith(`:${hex(proxyPort)}`) && state === '06';
  });
  return timeWait ? o : { result: 'failed', reason: o.reason.replace('clean end before the full answer', 'ECONNRESET (libuv reported it as a clean end)') };
}

/** Echo: every byte comes back, in order; a wrong byte is corruption, a short answer a cut stream. */
function echo(socket: net.Socket, size: number): Promise<Outcome> {
  const payload = randomBytes(size);
  return new Promise((resolve) => {
    let got = 0;
    let error: NodeJS.ErrnoException | undefined;
    let bad: string | undefined;
    socket.on('data', (chunk: Buffer) => {
      if (bad === undefined && !payload.subarray(got, got + chunk.length).equals(chunk)) {
        bad = got + chunk.length > size ? `${got + chunk.length - size} bytes more than sent` : `mismatch within bytes ${got}..${got + chunk.length}`;
      }
      got += chunk.length;
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err));
    socket.once('close', () => {
      if (bad !== undefined) resolve({ result: 'corrupted', reason: `echo: ${bad}` });
      else if (got === size && error === undefined) resolve({ result: 'intact', connectMs: 0 });
      else resolve(cut(error, got === size ? 'echo cut after every byte came back' : got === 0 ? 'echo cut before any byte came back' : 'echo cut mid-stream'));
    });
    socket.resume();
    socket.end(payload);
  });
}

/** Reads an HTTP/1.1 response to the end (Connection: close) and hands back status and body. */
function response(socket: net.Socket | tls.TLSSocket): Promise<{ status: number; body: string } | { error: NodeJS.ErrnoException | undefined; partial: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: NodeJS.ErrnoException | undefined;
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => (error = err));
    socket.once('close', () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf(HEAD_END);
      const head = end < 0 ? '' : all.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? NaN);
      const body = all.subarray(end + 4);
      if (error || end < 0 || body.length < length) resolve({ error, partial: all.length > 0 });
      else resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body: body.toString('latin1') });
    });
    socket.resume();
  });
}

/** POST /sha256: the service hashes what arrived; its answer must be the hash of what we sent. */
async function sha256(socket: net.Socket, size: number): Promise<Outcome> {
  const payload = randomBytes(size);
  const expected = createHash('sha256').update(payload).digest('hex');
  const answer = response(socket);
  socket.write(`POST /sha256 HTTP/1.1\r\nHost: soak\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
  socket.write(payload);
  const r = await answer;
  if ('error' in r) return cut(r.error, 'sha256 response incomplete');
  if (r.status !== 200) return { result: 'corrupted', reason: `sha256: status ${r.status}` };
  return r.body === expected ? { result: 'intact', connectMs: 0 } : { result: 'corrupted', reason: 'sha256: wrong digest' };
}

/** GET /healthz over TLS, the kubelet's certificate checked against the cluster CA. */
function kubelet(socket: net.Socket, spec: StreamSpec): Promise<Outcome> {
  const host = spec.target.slice(0, spec.target.lastIndexOf(':'));
  return new Promise((resolve) => {
    const secure = tls.connect({ socket, ca: spec.ca, host, servername: '' });
    secure.on('error', () => undefined); // reported through response()
    secure.once('secureConnect', () => secure.write(`GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    void response(secure).then((r) => {
      if ('error' in r) resolve(cut(r.error, 'kubelet response incomplete'));
      else if (r.status === 200 && r.body === 'ok') resolve({ result: 'intact', connectMs: 0 });
      else resolve({ result: 'corrupted', reason: `kubelet: ${r.status} ${JSON.stringify(r.body.slice(0, 40))}` });
    });
    socket.resume();
  });
}
