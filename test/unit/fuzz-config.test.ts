// Property tests of the config loader on random and mutated documents: parseConfig returns a config or
// throws a ConfigError naming the file, quickly; never another exception (from YAML, zod or our code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import YAML from 'yaml';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { validDoc, withValue, yaml, type Doc } from './config-fixtures.js';
import { FUZZ_TEST, fuzzBytes, quickly, runs } from './fuzz-inputs.js';

function outcome(text: string): void {
  try {
    const config = quickly('parseConfig', () => parseConfig(text, 'fuzz.yaml', '/etc/ssh-egress'));
    assert.equal(typeof config.ssh.user, 'string');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    assert.ok(err.message.startsWith('fuzz.yaml: '), err.message);
  }
}

/** Every path into the valid document, so a mutation can replace any value or section. */
function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => pathsOf(v, [...prefix, k]))];
}
const PATHS = pathsOf(validDoc()).filter((p) => p.length > 0);

/** withValue, or the document unchanged when the path no longer leads anywhere (an earlier change made it a scalar). */
function replacedAt(doc: Doc, path: (string | number)[], value: unknown): Doc {
  try {
    return withValue(doc, path, value);
  } catch {
    return doc;
  }
}

const anyValue = fc.anything({ withBigInt: false, withNullPrototype: false, maxDepth: 3 });
const replaced: fc.Arbitrary<Doc> = fc
  .tuple(fc.constantFrom(...PATHS), fc.oneof(anyValue, fc.constantFrom(undefined, null, '', 0, -1, 1e300, 'x'.repeat(10_000), [], {})))
  .map(([path, value]) => replacedAt(validDoc(), path, value));
const documents = fc.oneof(fc.constant(validDoc()), replaced, fc.tuple(replaced, fc.constantFrom(...PATHS), anyValue).map(([d, p, v]) => replacedAt(d, p, v)));
const texts = documents.map((d) => {
  try {
    return yaml(d);
  } catch {
    return YAML.stringify(String(d)); // values YAML cannot write
  }
});

test('any mutation of a valid YAML file: a config or a ConfigError naming the file', FUZZ_TEST, () => {
  fc.assert(
    // Runs up to 10 KB: the YAML library is linear but slow on some (100 KB of "," in a flow list: ~1 s).
    fc.property(fuzzBytes(texts.map((t) => Buffer.from(t)), 2048, 10_000), (buf) => outcome(buf.toString('utf8'))),
    { numRuns: runs(1500) },
  );
});

test('any value anywhere in the document: a config or a ConfigError', FUZZ_TEST, () => {
  fc.assert(fc.property(texts, (text) => outcome(text)), { numRuns: runs(1500) });
});

test('YAML oddities: aliases (billion laughs), tags, anchors, merge keys, deep nesting, odd keys', FUZZ_TEST, () => {
  const laughs = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) laughs.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  const odd = [
    laughs.join('\n'),
    `ssh: &s { user: root }\ninventory: { nodes: [] }\nlog: *s\n`,
    `ssh: !!binary aGVsbG8=\ninventory: { nodes: [] }\n`,
    `ssh: { user: !!js/function "x" }\ninventory: { nodes: [] }\n`,
    `<<: { ssh: { user: root } }\ninventory: { nodes: [] }\n`,
    `__proto__: { polluted: 1 }\nssh: { user: root }\ninventory: { nodes: [] }\n`,
    `ssh: { user: root, constructor: 1 }\ninventory: { nodes: [] }\n`,
    `${'['.repeat(500)}${']'.repeat(500)}`,
    `${'a: '.repeat(2000)}b`,
    `? [complex, key]\n: value\n`,
    `ssh: { user: root }\ninventory: { nodes: [{ name: n1, address: 198.18.0.1, labels: { [a]: b } }] }\n`,
    `%YAML 1.1\n---\nssh: { user: root }\ninventory: { nodes: [] }\nlog: { level: yes }\n`,
    '---\na: 1\n---\nb: 2\n',
    '\uFEFFssh: { user: root }\ninventory: { nodes: [] }\n',
  ];
  for (const text of odd) outcome(text);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype pollution');
  fc.assert(fc.property(fuzzBytes(fc.constantFrom(...odd).map((t) => Buffer.from(t)), 512, 10_000), (buf) => outcome(buf.toString('utf8'))), {
    numRuns: runs(500),
  });
});
