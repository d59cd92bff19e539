// The inventory's health as read from the ListWatch calls the reflector makes: last sync, the last failure
// with its stable code (cleared by the next success), how long it has been failing, failures by code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventoryErrorCode } from '../../src/kube/inventory-error-code.js';
import { ListWatchHealth } from '../../src/kube/list-watch-health.js';
import type { ListResult, ListWatch, WatchHandlers } from '../../src/kube/list-watch.js';

const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
const httpError = (statusCode: number): Error => Object.assign(new Error(`HTTP ${statusCode}`), { statusCode });

/** A ListWatch whose next list answer and watch opening the test sets. */
function scripted() {
  const state: { list: ListResult | Error; watch: Error | undefined; handlers: WatchHandlers | undefined; aborted: number } = {
    list: { items: [], resourceVersion: '5' },
    watch: undefined,
    handlers: undefined,
    aborted: 0,
  };
  const lw: ListWatch = {
    what: 'nodes',
    async list() {
      if (state.list instanceof Error) throw state.list;
      return state.list;
    },
    async watch(_rv, _timeout, handlers) {
      if (state.watch) throw state.watch;
      state.handlers = handlers;
      return { abort: () => void (state.aborted += 1) };
    },
  };
  return { lw, state };
}

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const noHandlers: WatchHandlers = { event: () => undefined, done: () => undefined };

test('error codes: network, auth, 410, server, other HTTP, timeouts', () => {
  assert.equal(inventoryErrorCode(refused()), 'ERR_KUBE_UNREACHABLE');
  assert.equal(inventoryErrorCode(httpError(401)), 'ERR_KUBE_UNAUTHORIZED');
  assert.equal(inventoryErrorCode({ code: 403, body: '{}' }), 'ERR_KUBE_FORBIDDEN');
  assert.equal(inventoryErrorCode(httpError(410)), 'ERR_KUBE_GONE');
  assert.equal(inventoryErrorCode(httpError(503)), 'ERR_KUBE_SERVER');
  assert.equal(inventoryErrorCode(httpError(404)), 'ERR_KUBE_HTTP');
  assert.equal(inventoryErrorCode(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), 'ERR_KUBE_TIMEOUT');
  assert.equal(inventoryErrorCode(new Error('watch still open 300s after it should have ended: connection presumed dead')), 'ERR_KUBE_TIMEOUT');
});

test('a failing list sets lastError and failingSince; the next list clears them and records the sync', async () => {
  const c = clock();
  const health = new ListWatchHealth(c.now);
  const { lw, state } = scripted();
  const tracked = health.track(lw);
  assert.deepEqual(health.status(), { lastSyncAt: undefined, lastError: undefined, failingSince: undefined, errors: {} });

  state.list = refused();
  await assert.rejects(tracked.list(new AbortController().signal, '0'), /ECONNREFUSED/);
  const firstFailure = c.now();
  c.advance(1000);
  await assert.rejects(tracked.list(new AbortController().signal, '0'));
  let s = health.status();
  assert.equal(s.lastError?.code, 'ERR_KUBE_UNREACHABLE');
  assert.match(s.lastError?.message ?? '', /ECONNREFUSED/);
  assert.equal(s.lastError?.at, c.now());
  assert.equal(s.failingSince, firstFailure, 'the first failure in the run, not the last');
  assert.deepEqual(s.errors, { ERR_KUBE_UNREACHABLE: 2 });

  state.list = { items: [], resourceVersion: '7' };
  c.advance(1000);
  assert.deepEqual(await tracked.list(new AbortController().signal, '0'), { items: [], resourceVersion: '7' });
  s = health.status();
  assert.deepEqual(s, { lastSyncAt: c.now(), lastError: undefined, failingSince: undefined, errors: { ERR_KUBE_UNREACHABLE: 2 } });
});

test('a list the caller aborted is no failure', async () => {
  const health = new ListWatchHealth();
  const { lw, state } = scripted();
  state.list = new Error('aborted');
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(health.track(lw).list(controller.signal, '0'));
  assert.equal(health.status().lastError, undefined);
  assert.deepEqual(health.status().errors, {});
});

test('a watch counts as a sync when it opens and at each event; a broken watch is a failure', async () => {
  const c = clock();
  const health = new ListWatchHealth(c.now);
  const { lw, state } = scripted();
  const tracked = health.track(lw);
  const seen: string[] = [];
  await tracked.watch('5', 300, { event: (type) => seen.push(type), done: (err) => seen.push(`done ${String(err)}`) });
  assert.equal(health.status().lastSyncAt, c.now(), 'opened from our version');

  c.advance(500);
  state.handlers!.event('BOOKMARK', { metadata: { resourceVersion: '9' } });
  assert.equal(health.status().lastSyncAt, c.now());
  assert.deepEqual(seen, ['BOOKMARK'], 'events are passed on');

  c.advance(500);
  state.handlers!.done(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  const s = health.status();
  assert.equal(s.lastError?.code, 'ERR_KUBE_UNREACHABLE');
  assert.equal(s.failingSince, c.now());
  assert.equal(seen.at(-1), 'done Error: socket hang up');

  // The resumed watch is refused, then one opens: current again.
  state.watch = refused();
  await assert.rejects(tracked.watch('9', 300, noHandlers));
  assert.deepEqual(health.status().errors, { ERR_KUBE_UNREACHABLE: 2 });
  state.watch = undefined;
  c.advance(500);
  await tracked.watch('9', 300, noHandlers);
  assert.equal(health.status().lastError, undefined);
  assert.equal(health.status().failingSince, undefined);
  assert.equal(health.status().lastSyncAt, c.now());
});

test('an ERROR event (410 Gone) is recorded even though the reflector aborts that watch at once', async () => {
  const health = new ListWatchHealth();
  const { lw, state } = scripted();
  const handle = await health.track(lw).watch('5', 300, {
    event: (type) => {
      if (type === 'ERROR') handle.abort();
    },
    done: () => undefined,
  });
  state.handlers!.event('ERROR', { kind: 'Status', code: 410, message: 'too old resource version: 5 (9)' });
  state.handlers!.done(new Error('aborted'));
  assert.equal(health.status().lastError?.code, 'ERR_KUBE_GONE');
  assert.deepEqual(health.status().errors, { ERR_KUBE_GONE: 1 }, 'the abort that follows is not a second failure');
  assert.equal(state.aborted, 1);
});

test('a watch the caller aborts (stop, or its deadline) ends without a failure', async () => {
  const health = new ListWatchHealth();
  const { lw, state } = scripted();
  const handle = await health.track(lw).watch('5', 300, noHandlers);
  handle.abort();
  state.handlers!.done(new Error('The user aborted a request.'));
  assert.equal(health.status().lastError, undefined);
  assert.deepEqual(health.status().errors, {});
});
