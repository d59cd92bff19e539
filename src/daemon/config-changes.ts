import { isDeepStrictEqual } from 'node:util';
import type { EgressConfig } from '../config/config-types.js';
import { isRecord } from '../util/is-record.js';

/**
 * Fields named down to this depth ("listeners.connect.tcp", "limits.maxConnections"); deeper changes are
 * named by their parent, and lists as a whole ("inventory.nodes"). Names only: no value is ever shown, so
 * a changed key path or token file says nothing of the secret.
 */
const DEPTH = 3;

/** The config fields whose value differs between two configs (`source`, where it came from, left out). */
export function changedFields(from: EgressConfig, to: EgressConfig): string[] {
  const { source: _from, ...a } = from;
  const { source: _to, ...b } = to;
  return diff(a, b, '', DEPTH);
}

function diff(a: unknown, b: unknown, prefix: string, depth: number): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  // An absent section is an empty one: `limits:` added with one field names that field.
  if (a === undefined && isRecord(b)) return diff({}, b, prefix, depth);
  if (b === undefined && isRecord(a)) return diff(a, {}, prefix, depth);
  if (depth === 0 || !isRecord(a) || !isRecord(b)) return [prefix];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((key) => diff(a[key], b[key], prefix ? `${prefix}.${key}` : key, depth - 1));
}

/**
 * The part of a config a running daemon cannot take: its agent listener's address and host key (node agents
 * hold registrations on it), and the SSH keepalive the agent server was started with. Named by reload, kept
 * as it was. Its userCAFile is not here: a reload reads it again in place.
 */
export function needingRestart(from: EgressConfig, to: EgressConfig): string[] {
  const listener = (c: EgressConfig): unknown => c.listeners.agents && { ...c.listeners.agents, userCAFile: undefined };
  if (isDeepStrictEqual(listener(from), listener(to))) {
    if (!to.listeners.agents) return [];
    const keepalive = (c: EgressConfig): unknown[] => [c.ssh.keepaliveIntervalMs, c.ssh.keepaliveCountMax];
    return isDeepStrictEqual(keepalive(from), keepalive(to)) ? [] : ['ssh.keepalive* (of agent connections)'];
  }
  return ['listeners.agents'];
}
