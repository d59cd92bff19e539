/** Small display helpers shared by the tables. */

/** "850 ms", "12.3 s": milliseconds below a second, else seconds. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** "SHA256:AbCdEfGhIjKl..." for narrow tables: enough to tell keys apart by eye, full in wide and JSON output. */
export function shortFingerprint(fingerprint: string | null | undefined, keep = 12): string {
  if (!fingerprint) return '-';
  const body = fingerprint.replace(/^SHA256:/, '');
  return body.length <= keep ? fingerprint : `SHA256:${body.slice(0, keep)}...`;
}

/** Age of an ISO time as kubectl prints it ("45s", "3m", "2h", "5d"), for "since" columns. */
export function formatAge(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : formatSeconds((now - t) / 1000);
}

/** "in 12s" until an ISO time (a retry), "now" once it is past. */
export function formatUntil(iso: string | undefined, now: number = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return t <= now ? 'now' : `in ${formatSeconds((t - now) / 1000)}`;
}

/** Whole units, largest first, as kubectl's AGE column. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** "1.5 MiB" for byte counters. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
