import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readiness, readinessSummary } from '../../src/frontends/readiness.js';
import type { TunnelStatus } from '../../src/tunnel/tunnel-status.js';
import { TunnelState } from '../../src/tunnel/state.js';

function tunnel(node: string, state: TunnelState, extra: Partial<TunnelStatus> = {}): TunnelStatus {
  return {
    node,
    address: '127.0.1.1',
    sshPort: 22,
    mode: 'forward',
    direction: 'forward',
    agent: undefined,
    state,
    since: new Date(0).toISOString(),
    lastError: undefined,
    attempts: 0,
    nextRetryAt: undefined,
    hostKeyFingerprint: undefined,
    draining: false,
    openStreams: 0,
    connections: state === TunnelState.READY ? 1 : 0,
    inFlightBytes: 0,
    bytesIn: 0,
    bytesOut: 0,
    ...extra,
  };
}

const { READY, CONNECTING, TRANSIENT_FAILURE, IDLE } = TunnelState;
const refused = { code: 'ERR_CONNECT', message: 'cannot reach node n2: connection refused' };

const cases: Array<{ name: string; statuses: TunnelStatus[]; fraction: number; ready: boolean; count: [number, number]; reasons: string[] }> = [
  { name: 'empty inventory is never ready', statuses: [], fraction: 0, ready: false, count: [0, 0], reasons: ['no nodes in the inventory'] },
  { name: 'all READY', statuses: [tunnel('n1', READY), tunnel('n2', READY)], fraction: 1, ready: true, count: [2, 2], reasons: [] },
  {
    name: 'a READY node whose health check fails counts out, with its probe error',
    statuses: [
      tunnel('n1', READY, { health: { healthy: true, lastProbeAt: undefined, rttMs: 2, consecutiveFailures: 0, lastProbeError: undefined, lastProbeErrorCode: undefined, kubeletVerified: true } }),
      tunnel('n2', READY, { health: { healthy: false, lastProbeAt: undefined, rttMs: undefined, consecutiveFailures: 4, lastProbeError: 'node n2: certificate not signed by the given CA', lastProbeErrorCode: 'ERR_KUBELET_CERT', kubeletVerified: true } }),
    ],
    fraction: 1,
    ready: false,
    count: [1, 2],
    reasons: ['n2 READY but unhealthy: ERR_KUBELET_CERT: node n2: certificate not signed by the given CA'],
  },
  {
    name: 'exactly the share is enough',
    statuses: [tunnel('n1', READY), tunnel('n2', TRANSIENT_FAILURE, { lastError: refused })],
    fraction: 0.5,
    ready: true,
    count: [1, 2],
    reasons: ['n2 TRANSIENT_FAILURE: cannot reach node n2: connection refused'],
  },
  {
    name: 'below the share',
    statuses: [tunnel('n1', READY), tunnel('n2', CONNECTING), tunnel('n3', IDLE)],
    fraction: 0.5,
    ready: false,
    count: [1, 3],
    reasons: ['n2 CONNECTING', 'n3 IDLE'],
  },
  { name: 'share 0 with nodes but none READY', statuses: [tunnel('n1', CONNECTING)], fraction: 0, ready: true, count: [0, 1], reasons: ['n1 CONNECTING'] },
  {
    name: 'draining tunnels are left out',
    statuses: [tunnel('n1', READY), tunnel('n1', READY, { draining: true }), tunnel('n2', IDLE, { draining: true })],
    fraction: 1,
    ready: true,
    count: [1, 1],
    reasons: [],
  },
];

for (const c of cases) {
  test(`readiness: ${c.name}`, () => {
    const r = readiness(c.statuses, c.fraction);
    assert.equal(r.ready, c.ready);
    assert.deepEqual([r.readyCount, r.total], c.count);
    assert.deepEqual(r.reasons, c.reasons);
  });
}

test('readinessSummary says how many and what share is needed', () => {
  const r = readiness([tunnel('n1', READY), tunnel('n2', IDLE), tunnel('n3', IDLE)], 0.5);
  assert.equal(readinessSummary(r, 0.5), '1 of 3 tunnels READY (need 50%)');
  assert.equal(readinessSummary(r, 2 / 3), '1 of 3 tunnels READY (need 66.7%)');
});
