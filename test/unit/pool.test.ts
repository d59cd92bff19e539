import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, ConnectError, PoolClosedError, PoolNotReadyError } from '../../src/errors.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { TunnelPoolOptions } from '../../src/tunnel/pool-options.js';
import { fakeConnector, node, settle } from './fake-connector.js';

function makePool(extra: Partial<ConstructorParameters<typeof TunnelPool>[0]> = {}) {
  const fake = fakeConnector();
  const pool = new TunnelPool({ user: 'root', connector: fake.connector, retryPolicy: () => 60_000, ...extra });
  return { pool, ...fake };
}

test('setNodes keeps unchanged tunnels, replaces changed ones and drains removed ones', async () => {
  const { pool, attempts } = makePool();
  pool.setNodes([node('n1'), node('n2'), node('n3')]);
  await settle();
  for (const a of attempts) a.succeed();
  await settle();
  const n1 = pool.get('n1');
  const n2 = pool.get('n2');
  pool.setNodes([
    node('n1', { podCIDRs: ['198.19.1.0/24'] }), // routing facts only: same tunnel
    node('n2', { address: '198.18.0.99' }), // new address: new tunnel
    node('n4'),
  ]);
  await settle();
  assert.equal(pool.get('n1'), n1, 'n1 keeps its tunnel and connection');
  assert.deepEqual(pool.get('n1')?.spec.podCIDRs, ['198.19.1.0/24']);
  assert.notEqual(pool.get('n2'), n2, 'n2 got a new tunnel');
  assert.equal(n2?.currentState, 'SHUTDOWN', 'the old n2 tunnel had no streams, so it closed at once');
  assert.equal(pool.get('n3'), undefined);
  assert.deepEqual(
    attempts.map((a) => `${a.node.name}@${a.node.address}`),
    ['n1@198.18.0.11', 'n2@198.18.0.12', 'n3@198.18.0.13', 'n2@198.18.0.99', 'n4@198.18.0.14'],
  );
  assert.deepEqual(pool.nodes().map((n) => n.name).sort(), ['n1', 'n2', 'n4']);
  await pool.close();
});

test('duplicate node names are refused with the offending index', () => {
  const { pool } = makePool();
  assert.throws(() => pool.setNodes([node('n1'), node('n1')]), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.path, 'nodes[1].name');
    return true;
  });
});

test('connection attempts across the pool run with bounded concurrency', async () => {
  const { pool, attempts, maxInFlight } = makePool({ maxConcurrentConnects: 3 });
  pool.setNodes(Array.from({ length: 20 }, (_, i) => node(`n${i + 1}`)));
  for (let done = 0; done < 20; done++) {
    await settle();
    attempts[done]!.succeed();
  }
  await pool.ready({ timeoutMs: 1000 });
  assert.equal(maxInFlight(), 3);
  await pool.close();
});

test('ready() resolves at min READY and names the failing nodes on timeout', async () => {
  const { pool, attempts } = makePool();
  pool.setNodes([node('n1'), node('n2')]);
  await settle();
  attempts[0]!.succeed();
  attempts[1]!.fail(new ConnectError('n2', 'connection refused (198.18.0.12:22)'));
  await pool.ready({ min: 1, timeoutMs: 1000 });
  await assert.rejects(pool.ready({ timeoutMs: 20 }), (err: unknown) => {
    assert.ok(err instanceof PoolNotReadyError);
    assert.equal(err.ready, 1);
    assert.equal(err.wanted, 2);
    assert.match(err.message, /n2 TRANSIENT_FAILURE \(cannot reach node n2: connection refused \(198\.18\.0\.12:22\)\)/);
    return true;
  });
  const status = pool.status();
  assert.deepEqual(status.map((s) => [s.node, s.state]), [['n1', 'READY'], ['n2', 'TRANSIENT_FAILURE']]);
  assert.equal(status[1]?.lastError?.code, 'ERR_CONNECT');
  await pool.close();
});

test('close() ends pending ready() calls and refuses further use', async () => {
  const { pool } = makePool();
  pool.setNodes([node('n1')]);
  const waiting = pool.ready();
  await pool.close();
  await assert.rejects(waiting, PoolClosedError);
  assert.throws(() => pool.setNodes([node('n1')]), PoolClosedError);
});

test('bad options name the field', () => {
  // The words of the config file's schema, which the pool's options share.
  assert.throws(() => new TunnelPool({ user: '' }), /^ConfigError: user: "" is not a user name$/);
  assert.throws(() => new TunnelPool({} as TunnelPoolOptions), /^ConfigError: user: required field is missing$/);
  const { connector } = fakeConnector();
  assert.throws(() => new TunnelPool({ user: 'root', connector, keepaliveCountMax: 0 }), /^ConfigError: keepaliveCountMax: 0 is not a whole number >= 1$/);
  assert.throws(() => new TunnelPool({ user: 'root', connector, maxWriteBufferBytes: 10 }), /^ConfigError: maxWriteBufferBytes: 10 is not a whole number of bytes >= 65536$/);
  const typo = { user: 'root', connector, keepAliveIntervalMs: 1000 } as TunnelPoolOptions;
  assert.throws(() => new TunnelPool(typo), /^ConfigError: keepAliveIntervalMs: unknown field \(known fields: user, identityFile, /);
});
