// connectionsPerNode: several SSH connections to a node acting as one session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, TunnelClosedError } from '../../src/errors.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { SessionGroup, connectionGroup } from '../../src/ssh/session-group.js';
import type { SshConnector } from '../../src/ssh/ssh-session.js';
import { TunnelState } from '../../src/tunnel/state.js';
import { FakeSession, fakeConnector, node, settle } from './fake-connector.js';

const dial = () => ({ target: 't:1', deadline: Date.now() + 5_000, timeoutMs: 5_000 });

test('count 1 is the connector itself', () => {
  const { connector } = fakeConnector();
  assert.equal(connectionGroup(connector, 1), connector);
});

test('the first connection handshakes alone, the others follow together', async () => {
  const { connector, attempts } = fakeConnector();
  const connecting = connectionGroup(connector, 3)(node('n1'), new AbortController().signal);
  await settle();
  assert.equal(attempts.length, 1, 'a trust-on-first-use record or a refusal is met by one handshake');
  attempts[0]!.succeed();
  await settle();
  assert.equal(attempts.length, 3);
  attempts[1]!.succeed();
  attempts[2]!.succeed();
  const group = await connecting;
  assert.ok(group instanceof SessionGroup);
  assert.equal(group.hostKeyFingerprint, 'SHA256:fake');
});

test('a later connection failing closes the opened ones and fails the attempt with its error', async () => {
  const { connector, attempts } = fakeConnector();
  const connecting = connectionGroup(connector, 3)(node('n1'), new AbortController().signal);
  await settle();
  const first = attempts[0]!.succeed();
  await settle();
  const second = attempts[1]!.succeed();
  attempts[2]!.fail(new Error('MaxSessions reached'));
  await assert.rejects(connecting, /MaxSessions reached/);
  assert.ok(first.closed && second.closed);
});

test('a new stream goes to the connection with the least queued bytes, then the fewest channels', async () => {
  const [a, b] = [new FakeSession(), new FakeSession()];
  const group = new SessionGroup([a, b]);
  await group.openChannel('h', 1);
  await group.openChannel('h', 1);
  assert.deepEqual([a.openChannels, b.openChannels], [1, 1], 'idle connections take turns');
  a.queuedBytes = 512 * 1024; // a is busy uploading
  await group.openChannel('h', 1);
  await group.openChannel('h', 1);
  assert.deepEqual([a.openChannels, b.openChannels], [1, 3]);
  b.queuedBytes = 1024 * 1024;
  await group.openChannel('h', 1);
  assert.deepEqual([a.openChannels, b.openChannels], [2, 3]);
  assert.equal(group.openChannels, 5);
  assert.equal(group.queuedBytes, 1536 * 1024);
  b.channels[0]!.destroy();
  b.channels[1]!.destroy();
  a.queuedBytes = b.queuedBytes;
  await group.openChannel('h', 1);
  assert.deepEqual([a.openChannels, b.openChannels], [2, 2], 'closed channels free their places');
});

test('one connection dropping closes the others and reports its error once', () => {
  const [a, b, c] = [new FakeSession(), new FakeSession(), new FakeSession()];
  const group = new SessionGroup([a, b, c]);
  const reports: Array<Error | undefined> = [];
  group.onClose((error) => reports.push(error));
  b.drop(new Error('connection reset'));
  a.drop(); // a closing as a consequence says nothing more
  assert.ok(a.closed && c.closed);
  assert.deepEqual(reports.map((e) => e?.message), ['connection reset']);
});

test('a pool with connectionsPerNode 2: READY with both up; one dropping fails every stream of the node and reconnects both', async () => {
  const { connector, attempts } = fakeConnector();
  const pool = new TunnelPool({ user: 'root', connector, connectionsPerNode: 2, retryPolicy: () => 10 });
  pool.setNodes([node('n1')]);
  await settle();
  const first = attempts[0]!.succeed();
  await settle();
  assert.equal(pool.get('n1')!.currentState, TunnelState.CONNECTING, 'not READY with one of two connections');
  const second = attempts[1]!.succeed();
  await pool.ready({ timeoutMs: 1_000 });
  const tunnel = pool.get('n1')!;
  const streams = [await tunnel.openStream('198.18.0.11', 80, dial()), await tunnel.openStream('198.18.0.11', 80, dial())];
  assert.deepEqual([first.openChannels, second.openChannels], [1, 1]);
  const failures = streams.map((s) => new Promise<Error>((resolve) => s.once('error', resolve)));
  first.drop(new Error('connection reset'));
  for (const err of await Promise.all(failures)) assert.ok(err instanceof TunnelClosedError);
  assert.ok(second.closed, 'the healthy connection is closed with its sibling');
  assert.equal(tunnel.currentState, TunnelState.TRANSIENT_FAILURE);
  await new Promise((resolve) => setTimeout(resolve, 30));
  await settle();
  assert.equal(attempts.length, 3, 'the reconnect starts with one handshake again');
  await pool.close();
});

test('connectionsPerNode outside 1..8 is refused, naming the field', () => {
  const connector: SshConnector = () => Promise.resolve(new FakeSession());
  for (const bad of [0, 9, 1.5]) {
    assert.throws(() => new TunnelPool({ user: 'root', connector, connectionsPerNode: bad }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /connectionsPerNode/);
      return true;
    });
  }
});
