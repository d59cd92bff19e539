// The CLI's rendering: aligned tables, colours only on a terminal without NO_COLOR, the progress line only
// on a terminal, and check's and status's tables from fixed results.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeCheckResult } from '../../src/check/index.js';
import type { AdminStatus } from '../../src/frontends/admin-status.js';
import { checkSummary, renderCheckTable, renderCheckWideTable } from '../../src/cli/output/check-table.js';
import { colourEnabled, palette, paletteFor } from '../../src/cli/output/colour.js';
import { formatAge, formatBytes, formatMs, formatUntil, shortFingerprint } from '../../src/cli/output/format.js';
import { progressLine } from '../../src/cli/output/progress.js';
import { renderStatusTable, renderStatusWideTable, statusSummary } from '../../src/cli/output/status-table.js';
import { renderTable } from '../../src/cli/output/table.js';

const ANSI = /\x1b\[[0-9;]*m/g;
const plain = palette(false);
const coloured = palette(true);

describe('colours', () => {
  it('only on a terminal, and never with NO_COLOR set to anything but the empty string', () => {
    assert.equal(colourEnabled({ isTTY: true }, {}), true);
    assert.equal(colourEnabled({ isTTY: false }, {}), false);
    assert.equal(colourEnabled({}, {}), false);
    assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: 'false' }), false, 'any value counts (no-color.org)');
    assert.equal(colourEnabled({ isTTY: true }, { NO_COLOR: '' }), true, 'empty means unset');
    assert.equal(paletteFor({ isTTY: false }, {}).paint('ok', 'ok'), 'ok');
  });

  it('paints with SGR codes and resets only what it set', () => {
    assert.equal(coloured.paint('ok', 'ok'), '\x1b[32mok\x1b[39m');
    assert.equal(coloured.paint('failed', 'fail'), '\x1b[31mfailed\x1b[39m');
    assert.equal(coloured.paint('x', undefined), 'x');
    assert.equal(plain.paint('failed', 'fail'), 'failed');
  });
});

describe('renderTable', () => {
  const columns = [{ header: 'NAME' }, { header: 'N', align: 'right' as const }, { header: 'NOTE' }];
  const rows = [
    ['a', '1', { text: 'ok', style: 'ok' as const }],
    ['longer-name', '123', ''],
  ];

  it('aligns on the widest cell, right-aligns numbers, leaves the last column unpadded', () => {
    assert.equal(renderTable(columns, rows, plain), ['NAME            N   NOTE', 'a               1   ok', 'longer-name   123'].join('\n') + '\n');
  });

  it('measures widths before colouring, so colour does not shift columns', () => {
    const out = renderTable(columns, rows, coloured);
    assert.match(out, /\x1b\[/);
    assert.equal(out.replace(ANSI, ''), renderTable(columns, rows, plain));
  });
});

describe('progress line', () => {
  const sink = (isTTY: boolean) => {
    const writes: string[] = [];
    return { isTTY, writes, write: (text: string) => writes.push(text) > 0 };
  };

  it('writes nothing when stderr is not a terminal', async () => {
    const s = sink(false);
    const p = progressLine(s, { total: 3, delayMs: 0, intervalMs: 5 });
    p.update(1, 0);
    await new Promise((r) => setTimeout(r, 30));
    p.stop();
    assert.deepEqual(s.writes, []);
  });

  it('on a terminal, shows "N/M done, F failed" after the delay and erases itself', async () => {
    const s = sink(true);
    const p = progressLine(s, { total: 200, delayMs: 10, intervalMs: 5 });
    p.update(37, 2);
    await new Promise((r) => setTimeout(r, 60));
    p.stop();
    assert.ok(s.writes.includes('\r\x1b[K37/200 done, 2 failed'), JSON.stringify(s.writes));
    assert.equal(s.writes.at(-1), '\r\x1b[K');
    assert.equal(s.writes.filter((w) => w.includes('37/200')).length, 1, 'redrawn only when it changed');
  });

  it('a run quicker than the delay shows nothing at all', () => {
    const s = sink(true);
    const p = progressLine(s, { total: 3, delayMs: 1000 });
    p.update(3, 0);
    p.stop();
    assert.deepEqual(s.writes, []);
  });
});

describe('format', () => {
  it('durations, ages, bytes and fingerprints', () => {
    assert.equal(formatMs(12.4), '12 ms');
    assert.equal(formatMs(1500), '1.5 s');
    assert.equal(formatMs(null), '-');
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(formatAge('2024-12-31T23:59:15Z', now), '45s');
    assert.equal(formatAge('2024-12-31T21:00:00Z', now), '3h');
    assert.equal(formatUntil('2025-01-01T00:02:00Z', now), 'in 2m');
    assert.equal(formatUntil('2024-12-31T00:00:00Z', now), 'now');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536 * 1024), '1.5 MiB');
    assert.equal(shortFingerprint('SHA256:abcdefghijklmnopqrstuvwxyz'), 'SHA256:abcdefghijkl...');
    assert.equal(shortFingerprint(null), '-');
  });
});

const step = (name: NodeCheckResult['steps'][number]['name'], ms: number | null, error?: { code: string; message: string }) => ({
  name,
  ok: ms !== null && !error,
  skipped: ms === null,
  ms,
  error: error ?? null,
});
const skippedAfter = (names: NodeCheckResult['steps'][number]['name'][]) => names.map((n) => step(n, null));
const certificate = { subject: 'CN=n1', issuer: 'CN=ca', sans: ['IP:198.18.0.11', 'DNS:n1'], notAfter: '2026-01-01T00:00:00Z', daysToExpiry: 20 };
const results: NodeCheckResult[] = [
  {
    name: 'n1', address: '198.18.0.11', sshPort: 22, ok: true, ms: 42,
    steps: [step('tcp', 1), step('handshake', 10), step('auth', 5), step('channel', 1), step('kubelet', 20)],
    hostKeyFingerprint: 'SHA256:0123456789abcdefghijklmnopqrstuvwxyzABCDEFG',
    kubelet: { status: 200, verified: true, certificate },
  },
  {
    name: 'n2', address: '198.18.0.12', sshPort: 2222, ok: false, ms: 7,
    steps: [step('tcp', 7, { code: 'ERR_CONNECT', message: 'connection refused (198.18.0.12:2222)' }), ...skippedAfter(['handshake', 'auth', 'channel', 'kubelet'])],
    hostKeyFingerprint: null, kubelet: null,
  },
  {
    name: 'n3', address: '198.18.0.13', sshPort: 22, ok: false, ms: 12,
    steps: [step('tcp', 1), step('handshake', 11, { code: 'ERR_HOST_KEY_MISMATCH', message: 'host key mismatch: expected SHA256:a, got SHA256:b' }), ...skippedAfter(['auth', 'channel', 'kubelet'])],
    hostKeyFingerprint: 'SHA256:b', kubelet: null,
  },
  {
    name: 'n4', address: '198.18.0.14', sshPort: 22, ok: false, ms: 30,
    steps: [step('tcp', 1), step('handshake', 10), step('auth', 19, { code: 'ERR_AUTH', message: 'authentication refused for user root' }), ...skippedAfter(['channel', 'kubelet'])],
    hostKeyFingerprint: 'SHA256:c', kubelet: null,
  },
  {
    name: 'n5', address: '198.18.0.15', sshPort: 22, ok: false, ms: 1500,
    steps: [step('tcp', 1), step('handshake', 10), step('auth', 5), step('channel', 1), step('kubelet', 3, { code: 'ERR_KUBELET_CERT', message: 'kubelet certificate not signed by the configured CA (issued by CN=other)' })],
    hostKeyFingerprint: 'SHA256:d', kubelet: { status: null, verified: false, certificate: { ...certificate, subject: 'CN=n5', daysToExpiry: -3 } },
  },
];

describe('check table', () => {
  it('one row per node: where it broke, in plain words', () => {
    const lines = renderCheckTable(results, plain).trimEnd().split('\n');
    assert.deepEqual(lines, [
      'NODE   ADDRESS            SSH      HOST KEY                 AUTH      KUBELET    CERT DAYS    TIME   ERROR',
      'n1     198.18.0.11        ok       SHA256:0123456789ab...   ok        ok                20   42 ms',
      'n2     198.18.0.12:2222   failed   -                        -         -                  -    7 ms   connection refused (198.18.0.12:2222)',
      'n3     198.18.0.13        ok       mismatch                 -         -                  -   12 ms   host key mismatch: expected SHA256:a, got SHA256:b',
      'n4     198.18.0.14        ok       SHA256:c                 refused   -                  -   30 ms   authentication refused for user root',
      'n5     198.18.0.15        ok       SHA256:d                 ok        bad cert          -3   1.5 s   kubelet certificate not signed by the configured CA (issued by CN=other)',
    ]);
  });

  it('colours: ok green, failures red, soon-expiring certificates yellow, expired red', () => {
    const out = renderCheckTable(results, coloured);
    assert.match(out, /\x1b\[32mok\x1b\[39m/);
    assert.match(out, /\x1b\[31mrefused\x1b\[39m/);
    assert.match(out, /\x1b\[33m20\x1b\[39m/);
    assert.match(out, /\x1b\[31m-3\x1b\[39m/);
  });

  it('wide: every step\'s time, the full fingerprint, the certificate\'s subject and whether it was verified', () => {
    const [header, n1, n2] = renderCheckWideTable(results, plain).split('\n');
    assert.match(header!, /^NODE\s+ADDRESS\s+TCP\s+HANDSHAKE\s+AUTH\s+CHANNEL\s+KUBELET\s+HOST KEY\s+HEALTHZ\s+CERT DAYS\s+CERT VERIFIED\s+CERT SUBJECT\s+TIME\s+ERROR$/);
    assert.match(n1!, /^n1\s+198\.18\.0\.11\s+1 ms\s+10 ms\s+5 ms\s+1 ms\s+20 ms\s+SHA256:0123456789abcdefghijklmnopqrstuvwxyzABCDEFG\s+200\s+20\s+yes\s+CN=n1\s+42 ms$/);
    assert.match(n2!, /^n2\s+198\.18\.0\.12:2222\s+failed\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+-\s+7 ms\s+connection refused/);
  });

  it('summary counts where nodes failed', () => {
    assert.equal(checkSummary(results), '1 of 5 nodes reachable; failed at tcp: 1, handshake: 1, auth: 1, kubelet: 1');
    assert.equal(checkSummary(results.slice(0, 1)), '1 of 1 node reachable');
  });
});

describe('status table', () => {
  const now = Date.parse('2025-01-01T00:10:00Z');
  const tunnel = {
    node: 'n1', address: '198.18.0.11', sshPort: 22, mode: 'forward' as const, direction: 'forward' as const, agent: undefined, state: 'READY' as const, since: '2025-01-01T00:00:00Z', lastError: undefined,
    attempts: 0, nextRetryAt: undefined, hostKeyFingerprint: 'SHA256:0123456789abcdefghijklmnop', draining: false,
    openStreams: 3, connections: 2, inFlightBytes: 131072, bytesIn: 2048, bytesOut: 100, health: { healthy: true, lastProbeAt: '2025-01-01T00:09:50Z', rttMs: 4.2, consecutiveFailures: 0, lastProbeError: undefined, lastProbeErrorCode: undefined, kubeletVerified: true },
  };
  const status: AdminStatus = {
    version: '0.1.0', uptimeSeconds: 600,
    ready: { ready: false, readyCount: 1, total: 2, reasons: ['n2 TRANSIENT_FAILURE: ...'], readyFraction: 0.75 },
    tunnels: [
      tunnel,
      { ...tunnel, node: 'n2', address: '198.18.0.12', state: 'TRANSIENT_FAILURE' as never, since: '2025-01-01T00:09:00Z', attempts: 4,
        lastError: { code: 'ERR_CONNECT', message: 'cannot reach node n2: connection refused (198.18.0.12:22)' },
        nextRetryAt: '2025-01-01T00:10:30Z', hostKeyFingerprint: undefined, openStreams: 0, connections: 0, inFlightBytes: 0, health: undefined },
      { ...tunnel, node: 'n3', address: '198.18.0.13', mode: 'reverse', direction: 'reverse', agent: { remoteAddress: '203.0.113.9', remotePort: 40022 } },
    ],
    nodesWithoutTunnel: [{ node: 'n2', mode: 'forward', direction: 'forward', state: 'TRANSIENT_FAILURE', reason: 'cannot reach node n2: connection refused (198.18.0.12:22)' }],
  };

  it('state, since, streams, RTT and the last error, as check\'s table', () => {
    assert.deepEqual(renderStatusTable(status, plain, now).trimEnd().split('\n'), [
      'NODE   ADDRESS       DIRECTION   STATE               SINCE   STREAMS    RTT   HOST KEY                 LAST ERROR',
      'n1     198.18.0.11   forward     READY                 10m         3   4 ms   SHA256:0123456789ab...',
      'n2     198.18.0.12   forward     TRANSIENT_FAILURE      1m         0      -   -                        cannot reach node n2: connection refused (198.18.0.12:22)',
      'n3     198.18.0.13   reverse     READY                 10m         3   4 ms   SHA256:0123456789ab...',
    ]);
    assert.match(renderStatusTable(status, coloured, now), /\x1b\[31mTRANSIENT_FAILURE\x1b\[39m/);
    assert.match(renderStatusWideTable(status, plain, now), /n2 .* 4 +in 30s .*cannot reach node n2/);
    assert.match(statusSummary(status), /^not ready: 1 of 2 tunnels READY \(need 75%\); daemon 0\.1\.0, up 10m$/);
  });

  it('a READY node whose health check fails shows as unhealthy, with the probe\'s error', () => {
    const health = { ...tunnel.health, healthy: false, consecutiveFailures: 5, lastProbeError: 'node n1: certificate not signed by the given CA', lastProbeErrorCode: 'ERR_KUBELET_CERT' };
    const table = renderStatusTable({ ...status, tunnels: [{ ...tunnel, health }] }, plain, now);
    assert.match(table, /n1 +198\.18\.0\.11 +forward +READY \(unhealthy\) .*node n1: certificate not signed by the given CA/);
    assert.match(renderStatusTable({ ...status, tunnels: [{ ...tunnel, health }] }, coloured, now), /\x1b\[31mREADY \(unhealthy\)\x1b\[39m/);
  });
});
