// StreamAdmission on its own: pending dials against the tunnel's bound and the pool's budget, streams
// against maxStreams (channels still opening included), byte totals across closes, and failing every stream.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import { DialQueueFullError, StreamLimitError, TunnelClosedError } from '../../src/errors.js';
import { DialBudget } from '../../src/tunnel/dial-budget.js';
import { StreamAdmission } from '../../src/tunnel/stream-admission.js';
import { TunnelSocket } from '../../src/tunnel/tunnel-socket.js';

/** A stream over a channel that swallows writes; the test pushes what the node sends. */
function socket(): { socket: TunnelSocket; channel: Duplex } {
  const channel = new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
  const s = new TunnelSocket({ stream: channel, whenWritable: (proceed) => proceed() }, { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 });
  return { socket: s, channel };
}

test('pending dials stop at the tunnel bound; a release frees a place, and a second release of the same dial does nothing', () => {
  const admission = new StreamAdmission('n1', { maxPendingDials: 2 });
  const first = admission.admitDial('a:1');
  admission.admitDial('b:1');
  assert.equal(admission.pendingDials, 2);
  assert.throws(
    () => admission.admitDial('c:1'),
    (err: unknown) => err instanceof DialQueueFullError && err.code === 'ERR_DIAL_QUEUE_FULL' && /c:1/.test(err.message),
  );
  first();
  first();
  assert.equal(admission.pendingDials, 1);
  admission.admitDial('c:1');
  assert.equal(admission.pendingDials, 2);
});

test('the pool budget is shared: one tunnel\'s dials leave less for another, and a refused dial takes nothing', () => {
  const budget = new DialBudget(2);
  const a = new StreamAdmission('n1', { maxPendingDials: 10, dialBudget: budget });
  const b = new StreamAdmission('n2', { maxPendingDials: 10, dialBudget: budget });
  const releaseA = a.admitDial('x:1');
  b.admitDial('y:1');
  assert.throws(() => a.admitDial('z:1'), DialQueueFullError);
  assert.equal(a.pendingDials, 1, 'the refused dial is not counted');
  assert.equal(budget.pending, 2);
  releaseA();
  assert.equal(budget.pending, 1);
  b.admitDial('z:1');
  assert.equal(b.pendingDials, 2);
});

test('the tunnel bound is checked before the budget, so a refusal there costs the pool nothing', () => {
  const budget = new DialBudget(5);
  const admission = new StreamAdmission('n1', { maxPendingDials: 1, dialBudget: budget });
  admission.admitDial('a:1');
  assert.throws(() => admission.admitDial('b:1'), DialQueueFullError);
  assert.equal(budget.pending, 1);
});

test('maxStreams counts open streams and channels still opening; a closed stream frees its place', async () => {
  const admission = new StreamAdmission('n1', { maxPendingDials: 10, maxStreams: 2 });
  const opening = admission.reserveChannel('a:1');
  const { socket: open } = socket();
  admission.reserveChannel('b:1')();
  admission.track(open);
  assert.equal(admission.openStreams, 1);
  assert.throws(
    () => admission.reserveChannel('c:1'),
    (err: unknown) => err instanceof StreamLimitError && err.code === 'ERR_STREAM_LIMIT',
  );
  opening();
  admission.reserveChannel('c:1')();
  open.destroy();
  await once(open, 'close');
  assert.equal(admission.openStreams, 0);
});

test('no maxStreams means no stream limit', () => {
  const admission = new StreamAdmission('n1', { maxPendingDials: 1 });
  for (let i = 0; i < 100; i += 1) admission.reserveChannel(`x:${i}`);
});

test('byte totals include open streams and keep closed ones; the close callback hears how many stay open', async () => {
  const closes: number[] = [];
  const admission = new StreamAdmission('n1', { maxPendingDials: 10 }, (open) => closes.push(open));
  const a = socket();
  const b = socket();
  admission.track(a.socket);
  admission.track(b.socket);
  a.channel.push(Buffer.alloc(10));
  a.socket.resume();
  await new Promise<void>((resolve) => a.socket.write(Buffer.alloc(3), () => resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(admission.bytes, { bytesIn: 10, bytesOut: 3 });
  a.socket.destroy();
  await once(a.socket, 'close');
  assert.deepEqual(closes, [1]);
  assert.deepEqual(admission.bytes, { bytesIn: 10, bytesOut: 3 }, 'a closed stream\'s bytes stay counted');
  b.socket.destroy();
  await once(b.socket, 'close');
  assert.deepEqual(closes, [1, 0]);
});

test('failAll destroys every open stream with the error given', async () => {
  const admission = new StreamAdmission('n1', { maxPendingDials: 10 });
  const streams = [socket().socket, socket().socket];
  for (const s of streams) admission.track(s);
  const errors = streams.map((s) => once(s, 'error'));
  admission.failAll(new TunnelClosedError('n1', 'connection lost'));
  for (const [err] of await Promise.all(errors)) assert.equal((err as TunnelClosedError).code, 'ERR_TUNNEL_CLOSED');
  await Promise.all(streams.map((s) => (s.closed ? undefined : once(s, 'close'))));
  assert.equal(admission.openStreams, 0);
});
