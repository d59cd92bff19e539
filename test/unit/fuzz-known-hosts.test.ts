// Property tests of the known_hosts reader on random and mutated files: parsing never throws (a bad line is
// skipped with a warning, as OpenSSH does), lookups never throw and stay fast whatever patterns the file
// holds, and a line that survives is one OpenSSH would read the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KnownHosts } from '../../src/hostkeys/known-hosts.js';
import { keyTypeOf } from '../../src/hostkeys/fingerprint.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { FUZZ_TEST, fuzzBytes, quickly, runs } from './fuzz-inputs.js';

const KEYS = [generateEd25519().public, generateEd25519().public].map((k) => k.split(' ').slice(0, 2).join(' '));
const key = fc.constantFrom(...KEYS);
const hostName = fc.oneof(
  fc.domain(),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.')),
  fc.tuple(fc.domain(), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `[${h}]:${p}`),
);
const pattern = fc.stringMatching(/^!?[a-z0-9.*?-]{1,24}$/);
const hosts = fc.array(fc.oneof(hostName, pattern), { minLength: 1, maxLength: 4 }).map((h) => h.join(','));
const hashed = fc
  .tuple(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ minLength: 20, maxLength: 20 }))
  .map(([salt, hash]) => `|1|${Buffer.from(salt).toString('base64')}|${Buffer.from(hash).toString('base64')}`);
const line = fc.oneof(
  fc.tuple(fc.constantFrom('', '@revoked ', '@cert-authority '), fc.oneof(hosts, hashed), key, fc.constantFrom('', ' comment')).map(
    ([marker, h, k, c]) => `${marker}${h} ${k}${c}`,
  ),
  fc.constantFrom('', '# a comment', '   '),
);
const file = fc.array(line, { maxLength: 12 }).map((lines) => lines.join('\n'));
const lookupHost = fc.oneof(hostName, fc.string({ maxLength: 300 }), fc.constant('a'.repeat(200)));

test('any file parses without throwing; every line is used, skipped with a warning, or blank', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fuzzBytes(file.map((f) => Buffer.from(f)), 4096), lookupHost, fc.integer({ min: 0, max: 65535 }), (buf, host, port) => {
      const text = buf.toString('utf8');
      const kh = quickly('KnownHosts.parse', () => KnownHosts.parse(text, 'fuzz'));
      const meaningful = text.split('\n').filter((l) => l.replace(/\r$/, '').trim() !== '' && !l.trim().startsWith('#')).length;
      assert.equal(kh.size + kh.warnings.length, meaningful);
      for (const w of kh.warnings) assert.match(w, /^fuzz:\d+: .+; line skipped$/s);
      const found = quickly('lookup', () => kh.lookup(host, port));
      // A trusted entry carries a blob whose own type matches its line's (a mutated blob can still pass that;
      // it then equals no real host key, so it can never verify one).
      for (const t of found.trusted) assert.equal(keyTypeOf(t.blob), t.keyType);
    }),
    { numRuns: runs(3000) },
  );
});

test('lookups stay fast against wildcard-heavy patterns (no backtracking blow-up)', FUZZ_TEST, () => {
  const starry = fc
    .oneof(
      fc.array(fc.constantFrom('*', '?', 'a', 'b', '.'), { minLength: 1, maxLength: 60 }).map((chars) => chars.join('')),
      // The shape that made a RegExp backtrack for seconds: "*a*a*a*a*a*a*b" against "aaaa...".
      fc.integer({ min: 1, max: 30 }).map((k) => `${'*a'.repeat(k)}*b`),
    )
    .map((pattern) => `${pattern} ${KEYS[0]}`);
  fc.assert(
    fc.property(fc.array(starry, { minLength: 1, maxLength: 5 }), fc.stringMatching(/^[ab.]{0,250}$/), (lines, host) => {
      const kh = KnownHosts.parse(lines.join('\n'));
      quickly('lookup', () => kh.lookup(host, 22));
    }),
    { numRuns: runs(1000) },
  );
});

test('wildcards match exactly as OpenSSH\'s rules say (checked against a regular expression on small inputs)', FUZZ_TEST, () => {
  const glob = fc.stringMatching(/^[ab*?]{1,8}$/);
  const expected = (pattern: string, name: string): boolean =>
    new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`))}$`, 's').test(name);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), glob), { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[ab]{0,10}$/), (patterns, name) => {
      const field = patterns.map(([negated, g]) => `${negated ? '!' : ''}${g}`).join(',');
      const want = patterns.some(([n, g]) => !n && expected(g, name)) && !patterns.some(([n, g]) => n && expected(g, name));
      assert.equal(KnownHosts.parse(`${field} ${KEYS[0]}`).lookup(name, 22).trusted.length, want ? 1 : 0, `${field} vs ${name}`);
    }),
    { numRuns: runs(3000) },
  );
});

test('a line for a literal name is found under that name and port, and only there', FUZZ_TEST, () => {
  fc.assert(
    fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), key, (name, port, k) => {
      const entry = port === 22 ? name : `[${name}]:${port}`;
      const kh = KnownHosts.parse(`${entry} ${k}\n`);
      assert.equal(kh.lookup(name.toUpperCase(), port).trusted.length, 1);
      assert.equal(kh.lookup(name, port === 22 ? 2222 : 22).trusted.length, 0);
    }),
    { numRuns: runs(2000) },
  );
});
