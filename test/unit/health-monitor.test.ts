import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { silentLogger } from '../../src/log.js';
import { HealthMonitor, type Probe } from '../../src/tunnel/health-monitor.js';
import { Tunnel } from '../../src/tunnel/tunnel.js';
import { fakeConnector, node, settle } from './fake-connector.js';

async function readyTunnel() {
  const fake = fakeConnector();
  const tunnel = new Tunnel(node('n1'), {
    connector: fake.connector,
    retryPolicy: () => 60_000,
    gate: (attempt) => attempt(),
    logger: silentLogger(),
    maxPendingDials: 10,
    stableAfterMs: 60_000,
  });
  return { tunnel, ...fake };
}

// Probe timers are unref'd (the SSH connection keeps a real process alive); fake sessions hold nothing.
const keepAlive = setInterval(() => undefined, 1000);
after(() => clearInterval(keepAlive));

const options = { intervalMs: 5, timeoutMs: 1000, failureThreshold: 3 };

test('probes run while READY and record time and round trip', async () => {
  const { tunnel, attempts } = await readyTunnel();
  let calls = 0;
  const probe: Probe = async () => {
    calls += 1;
  };
  const monitor = new HealthMonitor(tunnel, probe, options, silentLogger(), () => 0.5);
  assert.equal(monitor.status().lastProbeAt, undefined);
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  while (calls < 3) await new Promise((r) => setTimeout(r, 5));
  const status = monitor.status();
  assert.ok(status.lastProbeAt);
  assert.equal(typeof status.rttMs, 'number');
  assert.equal(status.consecutiveFailures, 0);
  tunnel.shutdown('test over');
  const after = calls;
  await new Promise((r) => setTimeout(r, 30));
  assert.ok(calls <= after + 1, 'no probes after the tunnel left READY');
});

test('N failures in a row drop the connection with the probe error as reason; a success resets the count', async () => {
  const { tunnel, attempts } = await readyTunnel();
  const results = [false, true, false, false, false];
  const probe: Probe = async () => {
    if (!results.shift()) throw new Error('HTTP 500 from kubelet');
  };
  const monitor = new HealthMonitor(tunnel, probe, options, silentLogger(), () => 0.5);
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await settle();
  const stream = await tunnel.openStream('198.18.0.11', 9100, { target: 'x', deadline: Date.now() + 1000, timeoutMs: 1000 });
  const streamError = once(stream, 'error');
  const [change] = await new Promise<[import('../../src/tunnel/tunnel.js').StateChange]>((resolve) =>
    tunnel.on('stateChange', (c) => c.to === 'TRANSIENT_FAILURE' && resolve([c])),
  );
  assert.equal(results.length, 0, 'failure, success, then three failures');
  assert.equal(change.error?.code, 'ERR_TUNNEL_CLOSED');
  assert.match(change.error!.message, /health check failed 3 times in a row: HTTP 500 from kubelet/);
  const [err] = await streamError;
  assert.match((err as Error).message, /health check failed/);
  assert.equal(monitor.status().consecutiveFailures, 3);
  assert.equal(monitor.status().lastProbeError, 'HTTP 500 from kubelet');
  tunnel.shutdown('test over');
});

test('a probe that never answers counts as a failure after its timeout', async () => {
  const { tunnel, attempts } = await readyTunnel();
  const probe: Probe = (_t, { signal }) =>
    new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const monitor = new HealthMonitor(tunnel, probe, { intervalMs: 5, timeoutMs: 20, failureThreshold: 1 }, silentLogger());
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await new Promise<void>((resolve) => tunnel.on('stateChange', (c) => c.to === 'TRANSIENT_FAILURE' && resolve()));
  assert.equal(monitor.status().lastProbeError, 'no answer within 20 ms');
  tunnel.shutdown('test over');
});
