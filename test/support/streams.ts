// Reading whole streams and comparing payloads, as the tests that push data through tunnels do.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';

/** Everything the stream gives until it ends; rejects on its error. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Sends `payload`, ends the stream, and reads what comes back (an echo server's answer). */
export function roundTrip(stream: Duplex, payload: Buffer): Promise<Buffer> {
  const answer = readAll(stream);
  stream.end(payload);
  return answer;
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');
