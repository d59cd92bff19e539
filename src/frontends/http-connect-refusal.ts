import type { Duplex } from 'node:stream';
import { errorResponse } from './http-connect-response.js';

/** How long a refused client may take to read our answer and hang up before we cut it off. */
export const LINGER_MS = 2000;

/**
 * Answers `status` with a one-line reason and closes. Keeps reading (and dropping) what the client still
 * sends: closing with unread bytes would make the kernel answer with a reset, which can destroy our reply
 * before the client reads it. The client gets LINGER_MS to hang up.
 */
export function sendRefusal(client: Duplex, status: number, reason: string, headers?: Record<string, string>): void {
  if (client.destroyed) return;
  client.end(errorResponse(status, reason, headers));
  client.resume();
  const linger = setTimeout(() => client.destroy(), LINGER_MS);
  client.once('close', () => clearTimeout(linger));
}
