// The list/watch loop against a scripted API: the first list from the watch cache, resume from the last
// resourceVersion, bookmarks, 410 Gone (as an ERROR event and as the watch request's status, the only
// thing that lists again), failing lists, and a watch that opens too late.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListResult, ListWatch, WatchHandlers } from '../../src/kube/list-watch.js';
import { Reflector } from '../../src/kube/reflector.js';

interface FakeWatch {
  resourceVersion: string;
  handlers: WatchHandlers;
  aborted: boolean;
}

type ListStep = ListResult | Error;

/** A ListWatch whose answers the test scripts: lists come from a queue, watches are handed to the test. */
function fakeListWatch() {
  const lists: ListStep[] = [];
  const watches: FakeWatch[] = [];
  let listCalls = 0;
  /** The resourceVersion each list asked for. */
  const listFroms: string[] = [];
  let openWatch: ((w: FakeWatch) => Promise<{ abort(): void }>) | undefined;
  const lw: ListWatch = {
    what: 'nodes',
    async list(_signal, from) {
      listCalls += 1;
      listFroms.push(from);
      const step = lists.shift() ?? { items: [], resourceVersion: '1' };
      if (step instanceof Error) throw step;
      return structuredClone(step);
    },
    watch(resourceVersion, _timeoutSeconds, handlers) {
      const w: FakeWatch = { resourceVersion, handlers, aborted: false };
      watches.push(w);
      const handle = { abort: () => void (w.aborted = true) };
      return openWatch ? openWatch(w) : Promise.resolve(handle);
    },
  };
  return {
    lw,
    lists,
    listFroms,
    watches,
    get listCalls() {
      return listCalls;
    },
    setOpenWatch(fn: (w: FakeWatch) => Promise<{ abort(): void }>) {
      openWatch = fn;
    },
  };
}

const node = (name: string, rv: string, extra: Record<string, unknown> = {}) => ({ kind: 'Node', metadata: { name, resourceVersion: rv }, ...extra });
const httpError = (code: number, message = 'failure') => Object.assign(new Error(message), { statusCode: code });

async function until(what: string, check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function reflector(lw: ListWatch, extra: Partial<ConstructorParameters<typeof Reflector>[0]> = {}) {
  return new Reflector({ listWatch: lw, listRetryMinMs: 5, listRetryMaxMs: 10, watchRetryPolicy: () => 5, ...extra });
}

test('lists, then watches from the list resourceVersion; events update the copy and advance the version', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [node('a', '10'), node('b', '11')], resourceVersion: '12' });
  const r = reflector(fake.lw);
  let changes = 0;
  r.on('changed', () => changes++);
  const synced = new Promise<void>((resolve) => r.once('synced', resolve));
  r.start();
  await synced;
  assert.deepEqual([...r.objects().keys()], ['a', 'b']);
  await until('a watch', () => fake.watches.length === 1);
  const w = fake.watches[0]!;
  assert.equal(w.resourceVersion, '12');
  w.handlers.event('ADDED', node('c', '13'));
  w.handlers.event('MODIFIED', node('a', '14', { spec: { podCIDR: '198.19.9.0/24' } }));
  w.handlers.event('DELETED', node('b', '15'));
  assert.deepEqual([...r.objects().keys()].sort(), ['a', 'c']);
  assert.deepEqual((r.objects().get('a') as { spec: unknown }).spec, { podCIDR: '198.19.9.0/24' });
  assert.equal(r.status().resourceVersion, '15');
  assert.equal(changes, 4, 'one change for the list, one per event');
  await r.stop();
  assert.ok(w.aborted, 'stop() closes the watch');
});

test('a dropped watch resumes from the last version seen, a bookmark included, without listing again', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [node('a', '10')], resourceVersion: '10' });
  const r = reflector(fake.lw);
  r.start();
  await until('a watch', () => fake.watches.length === 1);
  fake.watches[0]!.handlers.event('MODIFIED', node('a', '20'));
  fake.watches[0]!.handlers.event('BOOKMARK', { kind: 'Node', apiVersion: 'v1', metadata: { resourceVersion: '25' } });
  fake.watches[0]!.handlers.done(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  await until('a second watch', () => fake.watches.length === 2);
  assert.equal(fake.watches[1]!.resourceVersion, '25', 'resumed from the bookmark');
  assert.equal(fake.listCalls, 1);
  assert.equal(r.status().bookmarks, 1);
  assert.deepEqual([...r.objects().keys()], ['a'], 'a bookmark changes no object');
  // A clean end (the server's timeoutSeconds) resumes too.
  fake.watches[1]!.handlers.done(null);
  await until('a third watch', () => fake.watches.length === 3);
  assert.equal(fake.watches[2]!.resourceVersion, '25');
  assert.equal(fake.listCalls, 1);
  await r.stop();
});

test('410 Gone lists again: as a watch ERROR event with a Status, and as the watch request status', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [node('a', '10'), node('b', '10')], resourceVersion: '10' });
  fake.lists.push({ items: [node('a', '40')], resourceVersion: '40' });
  fake.lists.push({ items: [node('a', '50'), node('z', '50')], resourceVersion: '50' });
  const r = reflector(fake.lw);
  r.start();
  await until('a watch', () => fake.watches.length === 1);
  fake.watches[0]!.handlers.event('ERROR', { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 10 (30)', reason: 'Expired', code: 410 });
  await until('the second list', () => fake.listCalls === 2 && fake.watches.length === 2);
  assert.ok(fake.watches[0]!.aborted, 'the expired watch is closed');
  assert.deepEqual([...r.objects().keys()], ['a'], 'the new list replaces the copy: b is gone');
  assert.equal(fake.watches[1]!.resourceVersion, '40');
  fake.watches[1]!.handlers.done(httpError(410, 'Gone'));
  await until('the third list', () => fake.listCalls === 3 && fake.watches.length === 3);
  assert.deepEqual([...r.objects().keys()].sort(), ['a', 'z']);
  assert.equal(fake.watches[2]!.resourceVersion, '50');
  assert.deepEqual(fake.listFroms, ['0', '', ''], 'the first list from the watch cache, lists after a 410 consistent reads');
  await r.stop();
});

test('a failing list is retried until it answers; the copy is empty but unsynced meanwhile', async () => {
  const fake = fakeListWatch();
  fake.lists.push(httpError(500, 'etcdserver: request timed out'), new Error('connect ECONNREFUSED 127.0.0.1:6443'), new TypeError('Cannot read properties of undefined'));
  fake.lists.push({ items: [node('a', '3')], resourceVersion: '3' });
  const r = reflector(fake.lw);
  const synced = new Promise<void>((resolve) => r.once('synced', resolve));
  r.start();
  await synced;
  assert.equal(fake.listCalls, 4);
  assert.deepEqual(fake.listFroms, ['0', '0', '0', '0'], 'failures other than 410 keep asking the watch cache');
  assert.equal(r.status().lists, 1);
  assert.equal(r.status().lastError, undefined, 'cleared by the successful list');
  await r.stop();
});

test('a fatal list error stops the reflector and is reported', async () => {
  const fake = fakeListWatch();
  fake.lists.push(Object.assign(new Error('not found'), { code: 404, body: '{"kind":"Status","message":"the server could not find the requested resource","code":404}' }));
  const r = reflector(fake.lw, { isFatalListError: (err) => (err as { code?: number }).code === 404 });
  const failed = new Promise<Error>((resolve) => r.once('failed', resolve));
  r.start();
  const err = await failed;
  assert.equal((err as { code?: number }).code, 404);
  assert.equal(r.status().lastError, '404: the server could not find the requested resource');
  assert.equal(fake.watches.length, 0);
  await r.stop();
});

// Deliberately changed: the reflector used to list again after every 5th watch failure in a row, so an API
// server restart made every daemon list. Now only a 410 lists again; the watch is retried for as long as it takes.
test('watches that keep failing are retried from the last version with a growing backoff, never listing again', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [node('a', '5')], resourceVersion: '5' });
  const delays: number[] = [];
  const r = reflector(fake.lw, {
    watchRetryPolicy: (attempt) => {
      delays.push(attempt);
      return 1;
    },
  });
  fake.setOpenWatch(async (w) => {
    // Refused (the API server is down), as client-node reports a failed request.
    queueMicrotask(() => w.handlers.done(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' })));
    return { abort: () => void (w.aborted = true) };
  });
  r.start();
  await until('twelve watch attempts', () => fake.watches.length >= 12);
  await r.stop();
  assert.equal(fake.listCalls, 1, 'no list after the first');
  assert.deepEqual(delays.slice(0, 11), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'the backoff keeps growing');
  assert.ok(fake.watches.every((w) => w.resourceVersion === '5'));
  assert.deepEqual([...r.objects().keys()], ['a'], 'the copy stands while the API is away');
  assert.match(r.status().lastError ?? '', /ECONNREFUSED/);
});

test('a list whose continue token expired (410) lists again from the start, as a consistent read', async () => {
  const fake = fakeListWatch();
  fake.lists.push(httpError(410, 'The provided continue parameter is too old to display a consistent list result.'));
  fake.lists.push({ items: [node('a', '7')], resourceVersion: '7' });
  const r = reflector(fake.lw);
  r.start();
  await until('a watch', () => fake.watches.length === 1);
  assert.deepEqual(fake.listFroms, ['0', '']);
  assert.equal(fake.watches[0]!.resourceVersion, '7');
  await r.stop();
});

test('a watch that opens after its attempt was given up is closed, not leaked', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [], resourceVersion: '5' });
  let release: (() => void) | undefined;
  const late = { abort: () => void (late.aborted = true), aborted: false };
  fake.setOpenWatch(() => new Promise((resolve) => (release = () => resolve(late))));
  const r = reflector(fake.lw);
  r.start();
  await until('a watch request', () => fake.watches.length === 1);
  await r.stop(); // gives the attempt up while the request is still unanswered
  release?.();
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(late.aborted);
});

test('an unanswered watch is given up after its timeout plus a grace period', async () => {
  const fake = fakeListWatch();
  fake.lists.push({ items: [], resourceVersion: '5' });
  const requests: FakeWatch[] = [];
  fake.setOpenWatch((w) => {
    requests.push(w);
    // The first request is never answered; the next ones open normally.
    return requests.length === 1 ? new Promise(() => undefined) : Promise.resolve({ abort: () => void (w.aborted = true) });
  });
  const r = reflector(fake.lw, { watchTimeoutSeconds: () => 1, watchDeadlineGraceMs: 0 });
  r.start();
  await until('a second watch request', () => fake.watches.length === 2, 5000);
  assert.match(r.status().lastError ?? '', /presumed dead/);
  assert.equal(fake.watches[1]!.resourceVersion, '5');
  await r.stop();
});
