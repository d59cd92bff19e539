// The `limits:` config section: parsed, checked with the field named, and handed to the pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { toPoolOptions } from '../../src/runtime/index.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { POOL_DEFAULTS, resolvePoolOptions } from '../../src/tunnel/pool-options.js';
import { validDoc, withValue, yaml } from './config-fixtures.js';

/** The example document without its health-check CA file, which toPoolOptions would read. */
const doc = () => withValue(validDoc(), ['healthCheck'], undefined);

const LIMITS = {
  maxPendingDials: 500,
  maxPendingDialsPerTunnel: 50,
  maxStreamsPerTunnel: 200,
  maxConnections: 300,
  maxConnectionsPerClient: 100,
  maxWriteBufferBytesPerTunnel: 262144,
};

test('limits are read and the pool gets its share under its own option names', async () => {
  const config = parseConfig(yaml(withValue(doc(), ['limits'], LIMITS)), 'a.yaml', '/');
  assert.deepEqual(config.limits, LIMITS);
  const options = resolvePoolOptions(await toPoolOptions(config, silentLogger()));
  assert.equal(options.maxPendingDials, 500);
  assert.equal(options.maxPendingDialsPerTunnel, 50);
  assert.equal(options.maxStreamsPerTunnel, 200);
  assert.equal(options.maxWriteBufferBytes, 262144);
});

test('without limits (or with some) the defaults stay in force', async () => {
  const none = parseConfig(yaml(doc()), 'a.yaml', '/');
  assert.equal(none.limits, undefined);
  const some = parseConfig(yaml(withValue(doc(), ['limits'], { maxStreamsPerTunnel: 7 })), 'a.yaml', '/');
  const options = resolvePoolOptions(await toPoolOptions(some, silentLogger()));
  assert.equal(options.maxStreamsPerTunnel, 7);
  assert.equal(options.maxPendingDials, POOL_DEFAULTS.maxPendingDials);
  assert.equal(options.maxWriteBufferBytes, POOL_DEFAULTS.maxWriteBufferBytes);
});

for (const [field, value, message] of [
  ['maxStreamsPerTunnel', 0, /^a\.yaml: limits\.maxStreamsPerTunnel: 0 is not a whole number >= 1$/],
  ['maxConnections', '10', /^a\.yaml: limits\.maxConnections: "10" is not a whole number >= 1$/],
  ['maxWriteBufferBytesPerTunnel', 1024, /^a\.yaml: limits\.maxWriteBufferBytesPerTunnel: 1024 is not a whole number of bytes >= 65536$/],
  ['maxStreams', 5, /^a\.yaml: limits\.maxStreams: unknown field \(known fields: maxPendingDials, maxPendingDialsPerTunnel, maxStreamsPerTunnel, maxConnections, maxConnectionsPerClient, maxWriteBufferBytesPerTunnel\)$/],
] as const) {
  test(`limits.${field} = ${JSON.stringify(value)} is refused with the field named`, () => {
    assert.throws(
      () => parseConfig(yaml(withValue(validDoc(), ['limits', field], value)), 'a.yaml', '/'),
      (err: unknown) => err instanceof ConfigError && message.test(err.message),
    );
  });
}
