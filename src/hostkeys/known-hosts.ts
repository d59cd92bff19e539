import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { KnownHostsError } from '../errors.js';
import { fingerprintOf, keyTypeOf } from './fingerprint.js';

/**
 * A read-only known_hosts file with OpenSSH's matching rules (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT",
 * hostfile.c, match.c), so a file that works with `ssh` trusts exactly the same keys here.
 */

export interface TrustedHostKey {
  keyType: string;
  blob: Buffer;
  fingerprint: string;
  /** 1-based line number in the file, for messages. */
  line: number;
}

/** Shared by every lookup of the same name: read it, do not change it. */
export interface KnownHostsLookup {
  readonly trusted: readonly TrustedHostKey[];
  /** Keys on matching @revoked lines: never accept them, whatever else trusts them. */
  readonly revoked: readonly Buffer[];
  /** Matching @cert-authority lines, which ssh2 cannot honour; the caller decides how to refuse. */
  readonly certAuthorityLines: readonly number[];
}

type Marker = 'revoked' | 'cert-authority' | undefined;

type HostMatcher =
  | { kind: 'hashed'; salt: Buffer; hash: Buffer }
  | { kind: 'patterns'; patterns: { negated: boolean; glob: string }[] };

interface Entry {
  line: number;
  marker: Marker;
  hosts: HostMatcher;
  keyType: string;
  blob: Buffer;
}

const SHA1_BYTES = 20;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export class KnownHosts {
  /** Lines that were skipped, as "<source>:<line>: <why>" (OpenSSH skips them too, quietly). */
  readonly warnings: string[];
  /**
   * Lines whose names are all plain literals, by name: most of a large file, and found without a scan. A
   * pool of thousands of nodes looks up every node, and a scan per lookup made that quadratic.
   */
  private readonly byName = new Map<string, Entry[]>();
  /** Lines that must be tried one by one: hashed names, wildcards, negations. */
  private readonly scanned: Entry[] = [];
  /** Answers so far, by looked-up name: the file never changes, and a hashed line costs an HMAC per try. */
  private readonly answers = new Map<string, KnownHostsLookup>();

  private constructor(
    readonly source: string,
    private readonly entries: Entry[],
    warnings: string[],
  ) {
    this.warnings = warnings;
    for (const entry of entries) {
      const names = literalNames(entry.hosts);
      if (names === undefined) this.scanned.push(entry);
      for (const name of names ?? []) {
        const list = this.byName.get(name);
        if (list === undefined) this.byName.set(name, [entry]);
        else if (list.at(-1) !== entry) list.push(entry); // "a,a" lists the line once
      }
    }
  }

  static async load(path: string): Promise<KnownHosts> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
      throw new KnownHostsError(`known_hosts file ${path} ${why}`, err);
    }
    return KnownHosts.parse(text, path);
  }

  static parse(text: string, source = 'known_hosts'): KnownHosts {
    const entries: Entry[] = [];
    const warnings: string[] = [];
    text.split('\n').forEach((raw, index) => {
      const parsed = parseLine(raw, index + 1);
      if (parsed === undefined) return;
      if (typeof parsed === 'string') warnings.push(`${source}:${index + 1}: ${parsed}; line skipped`);
      else entries.push(parsed);
    });
    return new KnownHosts(source, entries, warnings);
  }

  /** Number of usable lines, for logs ("loaded 12 host keys"). */
  get size(): number {
    return this.entries.length;
  }

  /** Keys trusted and revoked for this host name/IP at this port, in file order. */
  lookup(host: string, port: number): KnownHostsLookup {
    const name = hostPortName(host, port);
    const known = this.answers.get(name);
    if (known !== undefined) return known;
    const trusted: TrustedHostKey[] = [];
    const revoked: Buffer[] = [];
    const certAuthorityLines: number[] = [];
    const matching = [...(this.byName.get(name) ?? []), ...this.scanned.filter((entry) => hostMatches(entry.hosts, name))];
    for (const entry of matching.sort((a, b) => a.line - b.line)) {
      if (entry.marker === 'revoked') revoked.push(entry.blob);
      else if (entry.marker === 'cert-authority') certAuthorityLines.push(entry.line);
      else trusted.push({ keyType: entry.keyType, blob: entry.blob, fingerprint: fingerprintOf(entry.blob), line: entry.line });
    }
    const result: KnownHostsLookup = { trusted, revoked, certAuthorityLines };
    // Bounded for a long-lived file under inventory churn: names of nodes long gone are dropped together.
    if (this.answers.size >= MAX_REMEMBERED_ANSWERS) this.answers.clear();
    this.answers.set(name, result);
    return result;
  }
}

const MAX_REMEMBERED_ANSWERS = 100_000;

/**
 * The name OpenSSH looks up and writes (put_host_port): lowercased, bare for port 22, "[host]:port"
 * otherwise. So a "[host]:22" line is never matched, exactly as with `ssh`.
 */
export function hostPortName(host: string, port: number): string {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return port === 22 || port === 0 ? bare : `[${bare}]:${port}`;
}

/** Literal names only: anything OpenSSH would read as a pattern, list, negation or hash is refused. */
const LITERAL_HOST = /^(?:[a-z0-9._:%-]+|\[[a-z0-9._:%-]+\]:\d+)$/;

/**
 * A known_hosts line as `ssh` writes one (add_host_to_hostfile): "name1,name2 key-type base64", each name
 * as looked up at this port (hostPortName), so `ssh`, `ssh-keygen -F` and this reader all find it.
 */
export function formatKnownHostsLine(hosts: readonly string[], port: number, keyBlob: Buffer): string {
  const names = [...new Set(hosts.map((h) => hostPortName(h.trim(), port)))];
  const bad = names.find((n) => !LITERAL_HOST.test(n));
  if (names.length === 0 || bad !== undefined) {
    throw new KnownHostsError(`cannot write a known_hosts line for ${JSON.stringify(bad ?? '')}: not a plain host name or IP`);
  }
  const keyType = keyTypeOf(keyBlob);
  if (keyType === undefined) throw new KnownHostsError(`cannot write a known_hosts line for ${names[0]}: not an SSH public key`);
  return `${names.join(',')} ${keyType} ${keyBlob.toString('base64')}`;
}

/**
 * The same key with hashed names, as `ssh-keygen -H` and HashKnownHosts write them: one line per name (a
 * hashed field holds a single host), each `|1|base64(salt)|base64(HMAC-SHA1(salt, name))` with a fresh
 * 20-byte salt, over the name as looked up at this port (hostPortName).
 */
export function formatHashedKnownHostsLines(hosts: readonly string[], port: number, keyBlob: Buffer): string[] {
  const unique = [...new Map(hosts.map((h) => [hostPortName(h.trim(), port), h] as const)).entries()];
  return unique.map(([name, host]) => {
    const plain = formatKnownHostsLine([host], port, keyBlob); // validates the name and the key
    return `${hashKnownHostName(name)}${plain.slice(plain.indexOf(' '))}`;
  });
}

/** `|1|salt|hash` for a name already in lookup form ("host" or "[host]:port"). */
export function hashKnownHostName(name: string, salt: Buffer = randomBytes(SHA1_BYTES)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

/** An Entry, undefined for blank/comment lines, or a string saying why the line is unusable. */
function parseLine(raw: string, line: number): Entry | string | undefined {
  const text = raw.replace(/\r$/, '').trim();
  if (text === '' || text.startsWith('#')) return undefined;
  const fields = text.split(/[ \t]+/);
  let marker: Marker;
  if (fields[0]?.startsWith('@')) {
    const name = fields.shift();
    if (name === '@revoked') marker = 'revoked';
    else if (name === '@cert-authority') marker = 'cert-authority';
    else return `unknown marker ${name}`;
  }
  const [hostField, keyType, keyBase64] = fields;
  if (hostField === undefined || keyType === undefined || keyBase64 === undefined) {
    return 'expected "[marker] hosts key-type base64-key [comment]"';
  }
  const hosts = parseHosts(hostField);
  if (typeof hosts === 'string') return hosts;
  if (/^\d+$/.test(keyType)) return 'SSH protocol 1 (RSA1) keys are not supported';
  if (!BASE64.test(keyBase64)) return `key for ${keyType} is not valid base64`;
  const blob = Buffer.from(keyBase64, 'base64');
  // OpenSSH's sshkey_read refuses a line whose type field disagrees with the key it carries.
  const blobType = keyTypeOf(blob);
  if (blobType === undefined) return `key for ${keyType} is not an SSH public key`;
  if (blobType !== keyType) return `key type ${keyType} does not match the key (${blobType})`;
  return { line, marker, hosts, keyType, blob };
}

function parseHosts(field: string): HostMatcher | string {
  if (field.startsWith('|')) {
    // Hashed by `ssh-keygen -H` / HashKnownHosts: |1|base64(salt)|base64(HMAC-SHA1(salt, name)).
    const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(field);
    if (!m) return 'malformed hashed host name (expected |1|salt|hash)';
    const [, salt64 = '', hash64 = ''] = m;
    if (!BASE64.test(salt64) || !BASE64.test(hash64)) return 'malformed hashed host name (bad base64)';
    const salt = Buffer.from(salt64, 'base64');
    const hash = Buffer.from(hash64, 'base64');
    if (salt.length !== SHA1_BYTES || hash.length !== SHA1_BYTES) {
      return 'malformed hashed host name (salt and hash must be 20 bytes)';
    }
    return { kind: 'hashed', salt, hash };
  }
  const patterns: { negated: boolean; glob: string }[] = [];
  for (const part of field.split(',')) {
    const negated = part.startsWith('!');
    const pattern = (negated ? part.slice(1) : part).toLowerCase();
    if (pattern === '') continue; // OpenSSH ignores empty list items too
    patterns.push({ negated, glob: pattern });
  }
  if (patterns.length === 0) return 'no host names';
  return { kind: 'patterns', patterns };
}

/**
 * OpenSSH patterns (match_pattern): "*" any run, "?" one character, nothing else special (not even "[" or
 * "\\"). Matched by hand, not as a RegExp: "*a*a*a*a*b" against a long name would backtrack for seconds
 * (and a huge field makes a RegExp too large to compile). This greedy walk is at worst O(pattern * name).
 */
function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1; // the last "*" seen, and where in the name its run would end next
  let resume = 0;
  while (n < name.length) {
    const c = pattern[p];
    if (c === '*') {
      star = p++;
      resume = n;
    } else if (c !== undefined && (c === '?' || c === name[n])) {
      p++;
      n++;
    } else if (star >= 0) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The names a line matches when every one is a plain positive name (no hash, "*", "?" or "!"); else undefined. */
function literalNames(hosts: HostMatcher): string[] | undefined {
  if (hosts.kind === 'hashed') return undefined;
  const literal = hosts.patterns.every(({ negated, glob }) => !negated && !glob.includes('*') && !glob.includes('?'));
  return literal ? hosts.patterns.map(({ glob }) => glob) : undefined;
}

/** match_hostname: a negated match vetoes the whole line even if another pattern matched. */
function hostMatches(hosts: HostMatcher, name: string): boolean {
  if (hosts.kind === 'hashed') {
    const digest = createHmac('sha1', hosts.salt).update(name).digest();
    return timingSafeEqual(digest, hosts.hash);
  }
  let positive = false;
  for (const { negated, glob } of hosts.patterns) {
    if (!globMatches(glob, name)) continue;
    if (negated) return false;
    positive = true;
  }
  return positive;
}
