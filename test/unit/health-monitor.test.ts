import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { silentLogger } from '../../src/log.js';
import { HealthMonitor, type Probe } from '../../src/tunnel/health-monitor.js';
import { Tunnel, type StateChange } from '../../src/tunnel/tunnel.js';
import { ProbeConnectionError } from '../../src/tunnel/probe-failure.js';
import { TunnelClosedError } from '../../src/errors.js';
import { KubeletCertificateError } from '../../src/tls/kubelet-certificate-error.js';
import { KubeletStatusError } from '../../src/tls/kubelet-status-error.js';
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

// Deliberate change (issue 15): only failures of the SSH path itself drop and remake the connection; what the
// node answers over a working connection (a certificate, an HTTP status) marks it unhealthy instead.
test('N SSH-path failures in a row drop the connection with the probe error as reason; a success resets the count', async () => {
  const { tunnel, attempts } = await readyTunnel();
  const results = [false, true, false, false, false];
  const probe: Probe = async () => {
    if (!results.shift()) throw new ProbeConnectionError(new TunnelClosedError('n1', 'the SSH connection cannot open channels (Not connected)'));
  };
  const monitor = new HealthMonitor(tunnel, probe, options, silentLogger(), () => 0.5);
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await settle();
  const stream = await tunnel.openStream('198.18.0.11', 9100, { target: 'x', deadline: Date.now() + 1000, timeoutMs: 1000 });
  const streamError = once(stream, 'error');
  const [change] = await new Promise<[StateChange]>((resolve) => tunnel.on('stateChange', (c) => c.to === 'TRANSIENT_FAILURE' && resolve([c])));
  assert.equal(results.length, 0, 'failure, success, then three failures');
  assert.equal(change.error?.code, 'ERR_TUNNEL_CLOSED');
  assert.match(change.error!.message, /health check failed 3 times in a row: tunnel to node n1 closed: the SSH connection cannot open channels/);
  const [err] = await streamError;
  assert.match((err as Error).message, /health check failed/);
  assert.equal(monitor.status().consecutiveFailures, 3);
  assert.equal(monitor.status().lastProbeErrorCode, 'ERR_TUNNEL_CLOSED');
  assert.equal(monitor.status().healthy, true, 'a dead SSH path is the tunnel\'s failure, not the node\'s health');
  tunnel.shutdown('test over');
});

test('a kubelet certificate the CA refuses marks the node unhealthy and keeps the connection, without flapping, until a probe passes', async () => {
  const { tunnel, attempts } = await readyTunnel();
  let certificateGood = false;
  let calls = 0;
  const probe: Probe = async () => {
    calls += 1;
    if (!certificateGood) throw new KubeletCertificateError('n1', 'untrusted', 'certificate not signed by the given CA');
  };
  const monitor = new HealthMonitor(tunnel, probe, { ...options, kubeletVerified: true }, silentLogger(), () => 0.5);
  const changes: StateChange[] = [];
  tunnel.on('stateChange', (c) => changes.push(c));
  tunnel.connect();
  await settle();
  const session = attempts[0]!.succeed();
  await settle();
  assert.equal(monitor.status().healthy, true, 'healthy until a probe says otherwise');
  while (calls < 3) await new Promise((r) => setTimeout(r, 5));
  assert.equal(monitor.status().healthy, false);
  assert.deepEqual(monitor.problem(), { code: 'ERR_KUBELET_CERT', message: 'node n1: certificate not signed by the given CA' });
  // Many probe intervals later: still unhealthy, still the same connection, no state change at all.
  while (calls < 12) await new Promise((r) => setTimeout(r, 5));
  assert.equal(monitor.status().healthy, false);
  assert.equal(monitor.status().consecutiveFailures >= 12, true);
  assert.equal(tunnel.currentState, 'READY');
  assert.equal(session.closed, false, 'the SSH connection is kept');
  assert.equal(attempts.length, 1, 'no reconnect');
  assert.deepEqual(changes.map((c) => c.to), ['CONNECTING', 'READY']);
  const status = monitor.status();
  assert.equal(status.lastProbeErrorCode, 'ERR_KUBELET_CERT');
  assert.equal(status.kubeletVerified, true);

  certificateGood = true;
  const before = calls;
  while (calls <= before) await new Promise((r) => setTimeout(r, 5));
  await settle();
  assert.equal(monitor.status().healthy, true, 'one passing probe makes the node healthy again');
  assert.equal(monitor.problem(), undefined);
  assert.equal(monitor.status().lastProbeError, undefined);
  tunnel.shutdown('test over');
});

test('an unhealthy node stays unhealthy across a reconnect and is probed at once on the new connection', async () => {
  const { tunnel, attempts } = await readyTunnel();
  let calls = 0;
  const probe: Probe = async () => {
    calls += 1;
    throw new KubeletStatusError('kubelet answered HTTP 500 to GET /healthz');
  };
  // A probe interval far longer than the test: the first probe comes at once (random 0), and after that only the
  // immediate probe of a new connection can run.
  const randoms = [0];
  const monitor = new HealthMonitor(tunnel, probe, { intervalMs: 60_000, timeoutMs: 1000, failureThreshold: 1 }, silentLogger(), () => randoms.shift() ?? 0.5);
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  while (monitor.status().healthy) await new Promise((r) => setTimeout(r, 2));
  assert.equal(monitor.status().lastProbeErrorCode, 'ERR_KUBELET_STATUS');
  tunnel.reconnect();
  await settle();
  assert.equal(monitor.status().healthy, false, 'a new connection does not make the node healthy');
  const before = calls;
  attempts[1]!.succeed();
  while (calls === before) await new Promise((r) => setTimeout(r, 2));
  assert.equal(monitor.status().healthy, false);
  tunnel.shutdown('test over');
});

test('a probe that never answers counts as a failure after its timeout: unhealthy, connection kept', async () => {
  const { tunnel, attempts } = await readyTunnel();
  const probe: Probe = (_t, { signal }) =>
    new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
  const monitor = new HealthMonitor(tunnel, probe, { intervalMs: 5, timeoutMs: 20, failureThreshold: 1 }, silentLogger());
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  while (monitor.status().healthy) await new Promise((r) => setTimeout(r, 5));
  assert.equal(monitor.status().lastProbeError, 'no answer within 20 ms');
  assert.equal(monitor.status().lastProbeErrorCode, 'ERR_DIAL_TIMEOUT');
  assert.equal(tunnel.currentState, 'READY');
  tunnel.shutdown('test over');
});

// Issue 15: a reload's health-check settings reach a monitor already probing, and the node's health is kept.
test('reconfigure: the next probe is the new one at the new interval; an unhealthy node stays unhealthy', async () => {
  const { tunnel, attempts } = await readyTunnel();
  const old: Probe = async () => {
    throw new KubeletStatusError('kubelet answered HTTP 500 to GET /healthz');
  };
  const monitor = new HealthMonitor(tunnel, old, { ...options, failureThreshold: 1 }, silentLogger(), () => 0.5);
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  while (monitor.problem() === undefined) await new Promise((r) => setTimeout(r, 5));
  let gate: () => void = () => undefined;
  const released = new Promise<void>((resolve) => (gate = resolve));
  let calls = 0;
  const fresh: Probe = async () => {
    calls += 1;
    await released;
  };
  monitor.reconfigure(fresh, { ...options, intervalMs: 60_000, failureThreshold: 1 });
  assert.equal(monitor.problem()?.code, 'ERR_KUBELET_STATUS', 'unhealthy until a probe passes, reload or not');
  // The new interval is cut short from the wait the old one set: with random 0.5 the next probe is 30 s away.
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(calls, 0, 'the wait follows the new interval, not the old 5 ms');
  tunnel.shutdown('test over');
  gate();
});

test('dispose stops probing; a monitor made for a READY tunnel starts at once', async () => {
  const { tunnel, attempts } = await readyTunnel();
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  let calls = 0;
  const probe: Probe = async () => {
    calls += 1;
  };
  const monitor = new HealthMonitor(tunnel, probe, options, silentLogger(), () => 0.5);
  while (calls < 2) await new Promise((r) => setTimeout(r, 5));
  monitor.dispose();
  const stopped = calls;
  await new Promise((r) => setTimeout(r, 40));
  assert.ok(calls <= stopped + 1, 'no probes after dispose');
  tunnel.shutdown('test over');
});
