import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ResolutionCache } from '../../src/dialer/resolution-cache.js';
import type { DialTarget } from '../../src/dialer/target.js';

test('resolution cache: holds at most its capacity, dropping the least recently used first', () => {
  const cache = new ResolutionCache<number>(3);
  for (let i = 0; i < 3; i++) cache.set(`10.0.0.${i}:80`, i);
  assert.equal(cache.get('10.0.0.0:80'), 0, 'a hit makes 10.0.0.0 the most recently used');
  cache.set('10.0.0.3:80', 3);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('10.0.0.1:80'), undefined, 'the least recently used went first');
  assert.deepEqual([0, 2, 3].map((i) => cache.get(`10.0.0.${i}:80`)), [0, 2, 3]);
  for (let i = 0; i < 1000; i++) cache.set(`10.0.1.${i}:80`, i);
  assert.equal(cache.size, 3, 'a scan over many targets stays within the bound');
  cache.clear();
  assert.equal(cache.size, 0);
});

test('resolution cache: target objects are keyed by every field that decides their route', () => {
  const cache = new ResolutionCache<string>(100);
  const targets: DialTarget[] = [
    { kind: 'kubelet', node: 'n1' },
    { kind: 'kubelet', node: 'N1' },
    { kind: 'node', node: 'n1', port: 22 },
    { kind: 'node', node: 'n1', port: 2 },
    { kind: 'node', node: '2 n1', port: 2 },
    { kind: 'address', host: 'n1', port: 22 },
    { kind: 'address', host: '10.0.0.1', port: 80 },
    'n1:22',
  ];
  targets.forEach((target, i) => cache.set(target, `r${i}`));
  targets.forEach((target, i) => assert.equal(cache.get(target), `r${i}`, JSON.stringify(target)));
  // A fresh object with the same fields finds the entry (the HTTP agents build one per connection).
  assert.equal(cache.get({ kind: 'address', host: '10.0.0.1', port: 80 }), 'r6');
});

test('resolution cache: no string finds an object entry, and ill-typed objects are not kept', () => {
  const cache = new ResolutionCache<string>(100);
  cache.set({ kind: 'kubelet', node: 'n1' }, 'kubelet');
  cache.set({ kind: 'address', host: '10.0.0.1', port: 80 }, 'address');
  // Strings starting with NUL never parse, so they skip the cache and fail in parseTarget.
  for (const text of ['\0kn1', '\0a80 10.0.0.1']) {
    cache.set(text, 'string');
    assert.equal(cache.get(text), undefined, JSON.stringify(text));
  }
  assert.equal(cache.get({ kind: 'kubelet', node: 'n1' }), 'kubelet');
  const illTyped = [{ kind: 'address', host: '10.0.0.1', port: '80' }, { kind: 'kubelet' }, { kind: 'pod', host: 'x' }, null, 42];
  for (const target of illTyped) {
    cache.set(target as DialTarget, 'bad');
    assert.equal(cache.get(target as DialTarget), undefined, JSON.stringify(target));
  }
  assert.equal(cache.size, 2);
});
