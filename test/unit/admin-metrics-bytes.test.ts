import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamByteTotals } from '../../src/frontends/metrics-bytes.js';
import { TunnelState } from '../../src/tunnel/state.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';

/** Just enough of a Tunnel for the byte tracker: status() with the fields it reads. */
function fakeTunnel(name: string) {
  const s = { node: name, state: TunnelState.READY as TunnelState, openStreams: 0, bytesIn: 0, bytesOut: 0 };
  return { s, tunnel: { status: () => ({ ...s }) } as unknown as Tunnel };
}

test('deltas add up across tunnels and only grow', () => {
  const totals = new StreamByteTotals();
  const a = fakeTunnel('n1');
  const b = fakeTunnel('n1'); // a replacement tunnel under the same name
  totals.track([a.tunnel]);
  a.s.bytesIn = 100;
  a.s.bytesOut = 10;
  assert.deepEqual(totals.takeDeltas(), { in: 100, out: 10 });
  assert.deepEqual(totals.takeDeltas(), { in: 0, out: 0 });
  totals.track([a.tunnel, b.tunnel]);
  b.s.bytesIn = 5;
  a.s.bytesIn = 150;
  assert.deepEqual(totals.takeDeltas(), { in: 55, out: 0 });
});

test('a finished tunnel is counted one last time, then forgotten', () => {
  const totals = new StreamByteTotals();
  const a = fakeTunnel('n1');
  totals.track([a.tunnel]);
  a.s.bytesIn = 40;
  a.s.state = TunnelState.SHUTDOWN;
  assert.deepEqual(totals.takeDeltas(), { in: 40, out: 0 });
  a.s.bytesIn = 1000; // not read again
  assert.deepEqual(totals.takeDeltas(), { in: 0, out: 0 });
});

test('a shut-down tunnel with streams still closing is kept until they are gone', () => {
  const totals = new StreamByteTotals();
  const a = fakeTunnel('n1');
  totals.track([a.tunnel]);
  a.s.state = TunnelState.SHUTDOWN;
  a.s.openStreams = 1;
  a.s.bytesOut = 7;
  assert.deepEqual(totals.takeDeltas(), { in: 0, out: 7 });
  a.s.openStreams = 0;
  a.s.bytesOut = 9;
  assert.deepEqual(totals.takeDeltas(), { in: 0, out: 2 });
});
