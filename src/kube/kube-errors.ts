/**
 * What went wrong talking to the API server, whichever part of client-node reported it: ApiException
 * (`code`, a Status body), Watch's Error (`statusCode`), a watch ERROR event (a Status object), or a
 * network error (`code` such as ECONNREFUSED).
 */
import { STATUS_CODES } from 'node:http';
import { isRecord } from '../util/is-record.js';

/** The HTTP status (or Status.code) behind an error, when there is one. */
export function statusCodeOf(err: unknown): number | undefined {
  if (!isRecord(err)) return undefined;
  for (const key of ['code', 'statusCode']) {
    const value = err[key];
    if (typeof value === 'number' && value >= 100 && value <= 599) return value;
  }
  return undefined;
}

/** "410 Gone" is how the API says a resourceVersion (or a continue token) is too old: list again. */
export function isExpired(err: unknown): boolean {
  return statusCodeOf(err) === 410;
}

/** A Status object as a watch ERROR event carries it, made into an Error that keeps the code. */
export function errorFromStatus(status: unknown): Error & { statusCode?: number } {
  const code = statusCodeOf(status);
  const message = isRecord(status) && typeof status.message === 'string' ? status.message : 'watch ERROR event';
  const err: Error & { statusCode?: number } = new Error(code === undefined ? message : `${code}: ${message}`);
  if (code !== undefined) err.statusCode = code;
  return err;
}

/** One line for logs: "403 Forbidden: nodes is forbidden: User ... cannot list ...", or the network error. */
export function describeApiError(err: unknown): string {
  const code = statusCodeOf(err);
  const message = statusMessage(isRecord(err) ? err.body : undefined);
  if (code !== undefined && message) return `${code}: ${message}`;
  if (code !== undefined && isRecord(err) && 'body' in err) return `${code} ${STATUS_CODES[code] ?? 'HTTP error'}`;
  if (err instanceof Error) {
    const errno = (err as NodeJS.ErrnoException).code;
    const cause = err.cause instanceof Error && !err.message.includes(err.cause.message) ? `: ${err.cause.message}` : '';
    return `${err.message}${errno && !err.message.includes(errno) ? ` (${errno})` : ''}${cause}`;
  }
  return String(err);
}

/** Status.message from a body that may be a parsed object or JSON text. */
function statusMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return body.slice(0, 200) || undefined;
    }
  }
  return isRecord(value) && typeof value.message === 'string' ? value.message : undefined;
}
