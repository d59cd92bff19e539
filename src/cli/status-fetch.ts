import type { AdminStatus } from '../frontends/admin-status.js';

/** The daemon could not be asked: not running, wrong address, or not an ssh-egress admin server. */
export class AdminUnreachableError extends Error {}

export interface FetchedStatus {
  /** The body as the daemon sent it, for `--output json`. */
  body: string;
  status: AdminStatus;
}

/** "127.0.0.1:8132", "[::1]:8132" or a full URL; the admin server speaks plain HTTP. */
export function adminStatusUrl(admin: string): URL {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(admin) ? admin : `http://${admin}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TypeError(`${JSON.stringify(admin)} is not a URL or host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${JSON.stringify(admin)}: only http:// and https:// are supported`);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/status`;
  return url;
}

/** GET /status; rejects with AdminUnreachableError in plain words ("connection refused (http://...)"). */
export async function fetchAdminStatus(url: URL, timeoutMs: number): Promise<FetchedStatus> {
  let response: Response;
  let body: string;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    body = await response.text();
  } catch (err) {
    throw new AdminUnreachableError(`cannot reach the daemon's admin server at ${url.origin}: ${why(err, timeoutMs)}`);
  }
  if (!response.ok) throw new AdminUnreachableError(`${url.href} answered HTTP ${response.status}: is this the daemon's admin address?`);
  let status: unknown;
  try {
    status = JSON.parse(body);
  } catch {
    throw new AdminUnreachableError(`${url.href} did not answer JSON: is this the daemon's admin address?`);
  }
  if (!isAdminStatus(status)) throw new AdminUnreachableError(`${url.href} is not an ssh-egress /status (no "tunnels" and "ready")`);
  return { body, status };
}

function isAdminStatus(value: unknown): value is AdminStatus {
  const v = value as Partial<AdminStatus> | null;
  return typeof v === 'object' && v !== null && Array.isArray(v.tunnels) && typeof v.ready === 'object' && v.ready !== null;
}

const WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (is the daemon running?)',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'name not found',
};

/** fetch() says only "fetch failed"; the reason is in its cause. */
function why(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: NodeJS.ErrnoException };
  if (e.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  const code = e.cause?.code;
  return (code && WORDS[code]) ?? e.cause?.message ?? e.message;
}
