import type { DialTarget } from './target.js';

/**
 * The latest successful resolutions (target -> route after the policy check), so a repeated dial skips
 * parsing, routing and the policy check. A resolution depends only on the target, the routing table and
 * the dialer's settings, so the owner clears the cache whenever either of the last two is replaced.
 * Refusals are not kept: each is decided and thrown afresh. Beyond `capacity` entries the least recently
 * used goes first, so a scan over many addresses costs memory once, not without bound.
 */
export class ResolutionCache<T> {
  /** A Map iterates in insertion order; a hit is re-inserted, so the first key is the least recently used. */
  private readonly entries = new Map<string, T>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(target: DialTarget): T | undefined {
    const key = cacheKey(target);
    if (key === undefined) return undefined;
    const value = this.entries.get(key);
    if (value !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, value);
    }
    return value;
  }

  set(target: DialTarget, value: T): void {
    const key = cacheKey(target);
    if (key === undefined) return;
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A key naming everything the resolution of `target` depends on; undefined when it is not worth keeping.
 * A string is its own key. An object's key starts with a NUL, which no string that parses contains, and a
 * string starting with one is never looked up, so an invalid string cannot find an object's entry. Objects
 * with fields of the wrong type get no key: they fail to parse anyway.
 */
function cacheKey(target: DialTarget): string | undefined {
  if (typeof target === 'string') return target.charCodeAt(0) === 0 ? undefined : target;
  if (target === null || typeof target !== 'object') return undefined;
  switch (target.kind) {
    case 'kubelet':
      return typeof target.node === 'string' ? `\0k${target.node}` : undefined;
    case 'node':
      return typeof target.node === 'string' && typeof target.port === 'number' ? `\0n${target.port} ${target.node}` : undefined;
    case 'address':
      return typeof target.host === 'string' && typeof target.port === 'number' ? `\0a${target.port} ${target.host}` : undefined;
    default:
      return undefined;
  }
}
