// EgressRuntime, the setup the daemon and `dial` share: create() builds pool and dialer from a config with
// no nodes yet; apply() brings inventory, service ranges, policy and timeout, and a config that fails
// anywhere leaves the running one in force.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/index.js';
import { NoRouteError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { EgressRuntime } from '../../src/runtime/index.js';
import { validDoc, withValue, yaml, type Doc } from './config-fixtures.js';
import { fakeConnector } from './fake-connector.js';

/** The fixture without its health-check CA file, which create() would read. */
function doc(): Doc {
  return withValue(validDoc(), ['healthCheck'], { kind: 'ssh' });
}

async function runtimeOf(d: Doc): Promise<EgressRuntime> {
  const { connector } = fakeConnector();
  return EgressRuntime.create(parseConfig(yaml(d), 'a.yaml', '/'), {
    logger: silentLogger(),
    poolOverrides: { connector, lazyConnect: true },
  });
}

test('create() has no nodes; apply() sets them and the dialer routes with the config\'s rules', async () => {
  const d = doc();
  const runtime = await runtimeOf(d);
  assert.deepEqual(runtime.pool.nodes(), []);
  await runtime.apply(parseConfig(yaml(d), 'a.yaml', '/'));
  assert.deepEqual(runtime.pool.nodes().map((n) => n.name), ['n1', 'n2']);
  assert.deepEqual(runtime.dialer.resolve('198.19.1.7:80'), { via: 'node', node: 'n1', host: '198.19.1.7', port: 80, reason: 'pod', target: '198.19.1.7:80' });
  assert.equal(runtime.dialer.resolve('198.19.240.10:443').reason, 'service');
  assert.equal(runtime.kubernetes, undefined, 'no watch without watchKubernetes');
  await runtime.close();
});

test('a config whose inventory cannot be read changes nothing: nodes and rules stay', async () => {
  const d = doc();
  const runtime = await runtimeOf(d);
  await runtime.apply(parseConfig(yaml(d), 'a.yaml', '/'));
  const next = withValue(withValue(d, ['cluster', 'serviceCIDRs'], ['198.19.128.0/20']), ['inventory'], { file: '/nonexistent/nodes.yaml' });
  await assert.rejects(runtime.apply(parseConfig(yaml(next), 'a.yaml', '/')));
  assert.deepEqual(runtime.pool.nodes().map((n) => n.name), ['n1', 'n2']);
  assert.equal(runtime.dialer.resolve('198.19.240.10:443').reason, 'service');
  assert.throws(() => runtime.dialer.resolve('198.19.128.10:443'), NoRouteError);
  await runtime.close();
});

test('a later apply() replaces nodes and service ranges in place', async () => {
  const d = doc();
  const runtime = await runtimeOf(d);
  await runtime.apply(parseConfig(yaml(d), 'a.yaml', '/'));
  const onlyN1 = [{ name: 'n1', address: '198.18.0.1' }];
  const next = withValue(withValue(d, ['cluster', 'serviceCIDRs'], ['198.19.128.0/20']), ['inventory', 'nodes'], onlyN1);
  await runtime.apply(parseConfig(yaml(next), 'a.yaml', '/'));
  assert.deepEqual(runtime.pool.nodes().map((n) => n.name), ['n1']);
  assert.equal(runtime.dialer.resolve('198.19.128.10:443').reason, 'service');
  await runtime.close();
});
