import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  AuthenticationError,
  ConnectError,
  DialQueueFullError,
  DialTimeoutError,
  TunnelClosedError,
  TunnelUnavailableError,
} from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { Tunnel, type TunnelOptions } from '../../src/tunnel/tunnel.js';
import { fakeConnector, node, settle } from './fake-connector.js';

function makeTunnel(overrides: Partial<TunnelOptions> = {}) {
  const fake = fakeConnector();
  const tunnel = new Tunnel(node('n1'), {
    connector: fake.connector,
    retryPolicy: () => 5,
    gate: (attempt) => attempt(),
    logger: silentLogger(),
    maxPendingDials: 10,
    stableAfterMs: 60_000,
    ...overrides,
  });
  const states: string[] = [];
  tunnel.on('stateChange', (c) => states.push(c.to));
  return { tunnel, states, ...fake };
}

const dialOptions = (timeoutMs = 1000) => ({ target: 'n1:9100', deadline: Date.now() + timeoutMs, timeoutMs });

test('connect success: IDLE -> CONNECTING -> READY', async () => {
  const { tunnel, states, attempts } = makeTunnel();
  assert.equal(tunnel.currentState, 'IDLE');
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await settle();
  assert.deepEqual(states, ['CONNECTING', 'READY']);
  assert.equal(tunnel.status().hostKeyFingerprint, 'SHA256:fake');
  tunnel.shutdown('test over');
});

test('failed attempt goes to TRANSIENT_FAILURE, retries after the policy delay, then READY', async () => {
  const { tunnel, states, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  attempts[0]!.fail(new ConnectError('n1', 'connection refused (198.18.0.11:22)'));
  await settle();
  assert.equal(tunnel.status().lastError?.code, 'ERR_CONNECT');
  assert.equal(tunnel.status().attempts, 1);
  assert.ok(tunnel.status().nextRetryAt, 'a retry is scheduled');
  await once(tunnel, 'stateChange'); // the retry timer fires
  attempts[1]!.succeed();
  await settle();
  assert.deepEqual(states, ['CONNECTING', 'TRANSIENT_FAILURE', 'CONNECTING', 'READY']);
  tunnel.shutdown('test over');
});

test('since is when the tunnel left READY, not its last retry', async () => {
  // The retry comes 20 ms later, so a "since" reset by it would differ.
  const { tunnel, attempts } = makeTunnel({ retryPolicy: () => 20 });
  tunnel.connect();
  await settle();
  const session = attempts[0]!.succeed();
  await settle();
  session.drop(new Error('connection reset'));
  await settle();
  const leftReady = tunnel.status().since;
  assert.equal(tunnel.status().state, 'TRANSIENT_FAILURE');
  await once(tunnel, 'stateChange'); // the retry starts: CONNECTING
  attempts[1]!.fail(new ConnectError('n1', 'connection refused (198.18.0.11:22)'));
  await settle();
  assert.equal(tunnel.status().state, 'TRANSIENT_FAILURE');
  assert.equal(tunnel.status().since, leftReady);
  tunnel.shutdown('test over');
});

test('a permanent failure asks the policy, which parks the tunnel', async () => {
  const seen: unknown[] = [];
  const { tunnel, attempts } = makeTunnel({
    retryPolicy: (_attempt, err) => {
      seen.push(err);
      return 60_000;
    },
  });
  tunnel.connect();
  await settle();
  attempts[0]!.fail(new AuthenticationError('n1', 'root'));
  await settle();
  assert.ok(seen[0] instanceof AuthenticationError);
  assert.equal(tunnel.currentState, 'TRANSIENT_FAILURE');
  const retryAt = Date.parse(tunnel.status().nextRetryAt!);
  assert.ok(retryAt - Date.now() > 50_000, 'parked for the long delay');
  tunnel.shutdown('test over');
});

test('a dropped connection fails open streams with TunnelClosedError and reconnects', async () => {
  const { tunnel, states, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  const session = attempts[0]!.succeed();
  await settle();
  const stream = await tunnel.openStream('198.18.0.11', 9100, dialOptions());
  assert.equal(tunnel.openStreams, 1);
  const closed = once(stream, 'error');
  session.drop(new Error('connection reset'));
  const [err] = await closed;
  assert.ok(err instanceof TunnelClosedError, `got ${String(err)}`);
  assert.match((err as Error).message, /tunnel to node n1 closed: connection reset/);
  assert.ok(session.closed);
  await settle();
  assert.equal(tunnel.openStreams, 0);
  // The retry is 5 ms away: on a busy machine it may already have begun.
  assert.deepEqual(states.slice(0, 3), ['CONNECTING', 'READY', 'TRANSIENT_FAILURE']);
  if (tunnel.currentState !== 'CONNECTING') await once(tunnel, 'stateChange');
  assert.equal(tunnel.currentState, 'CONNECTING');
  tunnel.shutdown('test over');
});

test('a late connect result after shutdown is closed, not leaked', async () => {
  const { tunnel, states, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  tunnel.shutdown('removed');
  assert.ok(attempts[0]!.signal.aborted, 'the attempt was told to stop');
  const session = attempts[0]!.succeed();
  await settle();
  assert.ok(session.closed);
  assert.deepEqual(states, ['CONNECTING', 'SHUTDOWN']);
  tunnel.connect();
  assert.equal(tunnel.currentState, 'SHUTDOWN', 'a shut-down tunnel never comes back');
});

test('a dial waits while CONNECTING and proceeds once READY', async () => {
  const { tunnel, attempts } = makeTunnel();
  tunnel.connect();
  const dial = tunnel.openStream('198.18.0.11', 9100, dialOptions());
  await settle();
  attempts[0]!.succeed();
  const stream = await dial;
  assert.equal(stream.node, 'n1');
  assert.equal(stream.remotePort, 9100);
  stream.destroy();
  tunnel.shutdown('test over');
});

test('a dial in TRANSIENT_FAILURE fails fast with the last error as cause', async () => {
  const { tunnel, attempts } = makeTunnel({ retryPolicy: () => 60_000 });
  tunnel.connect();
  await settle();
  const cause = new ConnectError('n1', 'connection refused (198.18.0.11:22)');
  attempts[0]!.fail(cause);
  await settle();
  await assert.rejects(tunnel.openStream('198.18.0.11', 9100, dialOptions()), (err: unknown) => {
    assert.ok(err instanceof TunnelUnavailableError);
    assert.equal(err.cause, cause);
    assert.match(err.message, /connection refused/);
    return true;
  });
  tunnel.shutdown('test over');
});

test('while retrying after a failure, dials fail fast instead of waiting', async () => {
  const { tunnel, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  attempts[0]!.fail(new ConnectError('n1', 'connection refused (198.18.0.11:22)'));
  await new Promise<void>((resolve) => tunnel.on('stateChange', (c) => c.to === 'CONNECTING' && resolve())); // the retry
  await assert.rejects(tunnel.openStream('198.18.0.11', 9100, dialOptions()), /connection refused/);
  tunnel.reconnect(); // an explicit reconnect is a fresh start: dials wait for it
  const dial = tunnel.openStream('198.18.0.11', 9100, dialOptions());
  await settle();
  attempts.at(-1)!.succeed();
  (await dial).destroy();
  tunnel.shutdown('test over');
});

test('dials waiting for a failing attempt are failed when it fails', async () => {
  const { tunnel, attempts } = makeTunnel({ retryPolicy: () => 60_000 });
  tunnel.connect();
  const dial = tunnel.openStream('198.18.0.11', 9100, dialOptions());
  await settle();
  attempts[0]!.fail(new ConnectError('n1', 'host unreachable'));
  await assert.rejects(dial, TunnelUnavailableError);
  tunnel.shutdown('test over');
});

test('a dial that waits too long times out; a full wait queue fails fast', async () => {
  const { tunnel } = makeTunnel({ maxPendingDials: 1 });
  tunnel.connect();
  const first = tunnel.openStream('198.18.0.11', 9100, dialOptions(30));
  await assert.rejects(tunnel.openStream('198.18.0.11', 9100, dialOptions()), DialQueueFullError);
  await assert.rejects(first, (err: unknown) => err instanceof DialTimeoutError && /waiting for the SSH connection/.test(err.message));
  tunnel.shutdown('test over');
});

test('drain refuses new dials and shuts down when the last stream closes', async () => {
  const { tunnel, states, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await settle();
  const stream = await tunnel.openStream('198.18.0.11', 9100, dialOptions());
  const drained = tunnel.drain(60_000);
  await assert.rejects(tunnel.openStream('198.18.0.11', 9100, dialOptions()), /being removed/);
  assert.equal(tunnel.currentState, 'READY', 'open streams keep the connection');
  stream.destroy();
  await drained;
  assert.deepEqual(states, ['CONNECTING', 'READY', 'SHUTDOWN']);
});

test('drain grace period over: remaining streams fail with TunnelClosedError', async () => {
  const { tunnel, attempts } = makeTunnel();
  tunnel.connect();
  await settle();
  attempts[0]!.succeed();
  await settle();
  const stream = await tunnel.openStream('198.18.0.11', 9100, dialOptions());
  const failed = once(stream, 'error');
  await tunnel.drain(10);
  const [err] = await failed;
  assert.ok(err instanceof TunnelClosedError);
  assert.match((err as Error).message, /drain grace period over/);
});
