import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, InvalidTargetError, NoRouteError, PolicyDeniedError } from '../../src/errors.js';
import { Dialer, type DialerOptions } from '../../src/dialer/dialer.js';
import type { DialTarget } from '../../src/dialer/target.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { fakeConnector, node } from './fake-connector.js';

/** A dialer over a pool whose connections never open: resolve() needs only the nodes and the rules. */
function makeDialer(options: DialerOptions = {}) {
  const pool = new TunnelPool({ user: 'root', connector: fakeConnector().connector, retryPolicy: () => 60_000 });
  pool.setNodes([node('n1', { podCIDRs: ['198.19.1.0/24'] }), node('n2', { podCIDRs: ['198.19.2.0/24'] })]);
  return { pool, dialer: new Dialer(pool, { serviceCIDRs: ['198.19.240.0/20'], ...options }) };
}

/** The node a target routes to ('any' for ClusterIPs and allowed ranges). */
function nodeOf(dialer: Dialer, target: DialTarget): string {
  const found = dialer.resolve(target);
  return found.via === 'node' ? found.node : 'any';
}

function denial(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof PolicyDeniedError) return err.reason;
    throw err;
  }
  assert.fail('expected a PolicyDeniedError');
}

test('dialer cache: a repeated resolve gives the same answer, and callers get their own copy', async () => {
  const { pool, dialer } = makeDialer();
  const first = dialer.resolve('198.19.1.7:8080');
  assert.deepEqual(first, { via: 'node', node: 'n1', host: '198.19.1.7', port: 8080, reason: 'pod', target: '198.19.1.7:8080' });
  (first as { port: number }).port = 1;
  assert.equal(dialer.resolve('198.19.1.7:8080').port, 8080, 'a caller changing its answer does not change the next one');
  assert.deepEqual(dialer.resolve({ kind: 'address', host: '198.19.1.7', port: 8080 }), { ...first, port: 8080 });
  assert.deepEqual(dialer.resolve({ kind: 'kubelet', node: 'n2' }), dialer.resolve({ kind: 'kubelet', node: 'n2' }));
  await pool.close();
});

test('dialer cache: node changes re-route targets resolved before', async () => {
  const { pool, dialer } = makeDialer();
  assert.equal(nodeOf(dialer, '198.19.1.7:80'), 'n1');
  assert.equal(dialer.resolve({ kind: 'kubelet', node: 'n2' }).port, 10250);
  assert.equal(dialer.resolve('n2:9100').host, '198.18.0.12');
  // Routing facts only (same connection): the pod CIDR moves to n2, n2's kubelet port changes.
  pool.setNodes([node('n1'), node('n2', { podCIDRs: ['198.19.1.0/24'], kubeletPort: 10350 })]);
  assert.equal(nodeOf(dialer, '198.19.1.7:80'), 'n2');
  assert.equal(dialer.resolve({ kind: 'kubelet', node: 'n2' }).port, 10350);
  // A new address for n2, then n2 gone.
  pool.setNodes([node('n1'), node('n2', { address: '198.18.0.99' })]);
  assert.equal(dialer.resolve('n2:9100').host, '198.18.0.99');
  pool.setNodes([node('n1')]);
  assert.throws(() => dialer.resolve('n2:9100'), NoRouteError);
  assert.throws(() => dialer.resolve({ kind: 'kubelet', node: 'n2' }), NoRouteError);
  assert.throws(() => dialer.resolve('198.19.1.7:80'), NoRouteError);
  await pool.close();
});

test('dialer cache: reconfigure applies to targets resolved before, and a rejected one changes nothing', async () => {
  const { pool, dialer } = makeDialer();
  assert.equal(dialer.resolve('198.19.240.10:443').reason, 'service');
  assert.equal(dialer.resolve('n1:22').reason, 'node');
  dialer.reconfigure({ serviceCIDRs: [], policy: { nodePorts: [9100] } });
  assert.throws(() => dialer.resolve('198.19.240.10:443'), NoRouteError);
  assert.match(denial(() => dialer.resolve('n1:22')), /node ports allowed are 9100, 10250 \(kubelet\)/);
  assert.throws(() => dialer.reconfigure({ serviceCIDRs: ['nonsense'] }), ConfigError);
  assert.throws(() => dialer.resolve('198.19.240.10:443'), NoRouteError, 'the failed update left the rules in force');
  dialer.reconfigure({ serviceCIDRs: ['198.19.240.0/20'] });
  assert.equal(dialer.resolve('198.19.240.10:443').reason, 'service');
  assert.equal(dialer.resolve('n1:22').reason, 'node');
  await pool.close();
});

test('dialer cache: a denied target stays denied, with the same reason, until the policy allows it', async () => {
  const { pool, dialer } = makeDialer({ policy: { allow: ['192.0.2.0/24:443'], nodePorts: [9100] } });
  for (let i = 0; i < 3; i++) {
    assert.match(denial(() => dialer.resolve('n1:22')), /node ports allowed are 9100/);
    assert.match(denial(() => dialer.resolve('192.0.2.5:80')), /port 80 is not allowed for 192\.0\.2\.5; allowed ports are 443 \(192\.0\.2\.0\/24\)/);
  }
  assert.equal(dialer.resolve('192.0.2.5:443').reason, 'allowed');
  // Another policy that still forbids them, then one that allows them.
  dialer.reconfigure({ policy: { allow: ['192.0.2.0/24:443,8443'], nodePorts: [9100, 9200] } });
  assert.match(denial(() => dialer.resolve('n1:22')), /node ports allowed are 9100, 9200/);
  assert.match(denial(() => dialer.resolve('192.0.2.5:80')), /allowed ports are 443, 8443/);
  dialer.reconfigure({ policy: { allow: ['192.0.2.0/24'] } });
  assert.equal(dialer.resolve('n1:22').reason, 'node');
  assert.equal(dialer.resolve('192.0.2.5:80').reason, 'allowed');
  // And denied again: an allowed answer does not outlive the policy that gave it.
  dialer.reconfigure({ policy: { allow: ['192.0.2.0/24:443'], nodePorts: [9100] } });
  assert.match(denial(() => dialer.resolve('n1:22')), /node ports allowed are 9100/);
  assert.match(denial(() => dialer.resolve('192.0.2.5:80')), /allowed ports are 443/);
  await pool.close();
});

test('dialer cache: invalid targets keep failing as InvalidTargetError, even ones shaped like cache keys', async () => {
  const { pool, dialer } = makeDialer();
  dialer.resolve({ kind: 'kubelet', node: 'n1' });
  dialer.resolve({ kind: 'address', host: '198.19.1.7', port: 80 });
  for (const target of ['\0kn1', '\0a80 198.19.1.7', '198.19.1.7', 'n1:0']) {
    for (let i = 0; i < 2; i++) assert.throws(() => dialer.resolve(target), InvalidTargetError, JSON.stringify(target));
  }
  const stringPort = { kind: 'address', host: '198.19.1.7', port: '80' } as unknown as { kind: 'address'; host: string; port: number };
  assert.throws(() => dialer.resolve(stringPort), InvalidTargetError);
  await pool.close();
});

test("a target that cannot be turned into JSON fails as InvalidTargetError, with a 'dial' listener too", async () => {
  const { pool, dialer } = makeDialer();
  const events: Array<{ target: string; error: Error | undefined }> = [];
  dialer.on('dial', (event) => events.push(event));
  const bad = { kind: 'address', host: '198.19.1.7', port: 10n } as unknown as DialTarget;
  await assert.rejects(dialer.dial(bad), InvalidTargetError);
  assert.equal(events.length, 1);
  assert.ok(events[0]!.error instanceof InvalidTargetError);
  await pool.close();
});
