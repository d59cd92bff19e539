// One options model: a bad value gets the same words, naming its field, from the config file, from a flag
// and from a constructor, because all three go through the same schema.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configFromFlags, parseConfig, type ConfigFlags } from '../../src/config/index.js';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { Socks5Frontend } from '../../src/frontends/socks5-server.js';
import { Dialer, type DialerOptions } from '../../src/dialer/dialer.js';
import { ConfigError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { TunnelPoolOptions } from '../../src/tunnel/pool-options.js';
import { validDoc, withValue, yaml } from './config-fixtures.js';
import { fakeConnector } from './fake-connector.js';

const SOURCE = 'ssh-egress.yaml';

/** The ConfigError `make` throws, as its path and the problem after the path. */
function problem(make: () => unknown, prefix = ''): { path: string; problem: string } {
  try {
    make();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG');
    const head = `${prefix}${err.path}: `;
    assert.ok(err.message.startsWith(head), err.message);
    return { path: err.path, problem: err.message.slice(head.length) };
  }
  assert.fail('expected a ConfigError, the value was accepted');
}

const fromYaml = (at: (string | number)[], value: unknown) =>
  problem(() => parseConfig(yaml(withValue(validDoc(), at, value)), SOURCE, '/etc/ssh-egress'), `${SOURCE}: `);
const fromFlags = (flags: ConfigFlags) => problem(() => configFromFlags({ inventory: '/etc/ssh-egress/nodes.yaml', ...flags }));
const { connector } = fakeConnector();
const pool = (options: Partial<TunnelPoolOptions>) => problem(() => new TunnelPool({ user: 'root', connector, ...options }));
const dialer = (options: DialerOptions) => problem(() => new Dialer(new TunnelPool({ user: 'root', connector }), options));
const listen = { kind: 'tcp', host: '127.0.0.1', port: 0 } as const;

describe('one bad option, one message, wherever it is given', () => {
  test('a policy allow rule "10.0.0.0/33": the same path and words from the file and the Dialer', () => {
    const want = { path: 'policy.allow[0]', problem: '"10.0.0.0/33" is not a CIDR' };
    assert.deepEqual(fromYaml(['policy', 'allow', 0], '10.0.0.0/33'), want);
    assert.deepEqual(dialer({ policy: { allow: ['10.0.0.0/33'] } }), want);
    // The object form goes through the same rule.
    const field = { path: 'policy.allow[0].cidr', problem: '"10.0.0.0/33" is not a CIDR' };
    assert.deepEqual(fromYaml(['policy', 'allow', 0], { cidr: '10.0.0.0/33', ports: [443] }), field);
    assert.deepEqual(dialer({ policy: { allow: [{ cidr: '10.0.0.0/33', ports: [443] }] } }), field);
  });

  test('a connect timeout of 0: the file, --connect-timeout and the TunnelPool say the same', () => {
    const words = '0 is not a whole number of milliseconds from 1 to 2147483647';
    assert.deepEqual(fromYaml(['ssh', 'connectTimeoutMs'], 0), { path: 'ssh.connectTimeoutMs', problem: words });
    assert.deepEqual(fromFlags({ connectTimeout: 0 }), { path: '--connect-timeout', problem: words });
    assert.deepEqual(pool({ connectTimeoutMs: 0 }), { path: 'connectTimeoutMs', problem: words });
  });

  test('a service CIDR that is an address: the file, --service-cidr and the Dialer say the same', () => {
    const words = '"10.96.0.1" is not a CIDR (write 10.96.0.1/32 for one address)';
    assert.deepEqual(fromYaml(['cluster', 'serviceCIDRs', 0], '10.96.0.1'), { path: 'cluster.serviceCIDRs[0]', problem: words });
    assert.deepEqual(fromFlags({ serviceCidr: ['10.96.0.1'] }), { path: '--service-cidr', problem: words });
    assert.deepEqual(dialer({ serviceCIDRs: ['10.96.0.1'] }), { path: 'serviceCIDRs[0]', problem: words });
  });

  test('connectionsPerNode of 0 and a dial timeout of 0: the file and the constructors say the same', () => {
    assert.deepEqual(fromYaml(['ssh', 'connectionsPerNode'], 0), { path: 'ssh.connectionsPerNode', problem: '0 is not a whole number from 1 to 8' });
    assert.deepEqual(pool({ connectionsPerNode: 0 }), { path: 'connectionsPerNode', problem: '0 is not a whole number from 1 to 8' });
    const words = '0 is not a whole number of milliseconds from 1 to 2147483647';
    assert.deepEqual(fromYaml(['dial', 'timeoutMs'], 0), { path: 'dial.timeoutMs', problem: words });
    assert.deepEqual(dialer({ dialTimeoutMs: 0 }), { path: 'dialTimeoutMs', problem: words });
  });

  test('limits.maxConnections of 0: the file and both front ends say the same', () => {
    const words = '0 is not a whole number >= 1';
    const dial = { dial: () => Promise.reject(new Error('unused')) };
    assert.deepEqual(fromYaml(['limits', 'maxConnections'], 0), { path: 'limits.maxConnections', problem: words });
    assert.deepEqual(problem(() => new HttpConnectFrontend(dial, listen, { logger: silentLogger(), maxConnections: 0 })), { path: 'maxConnections', problem: words });
    const anyDialer = new Dialer(new TunnelPool({ user: 'root', connector }));
    assert.deepEqual(problem(() => new Socks5Frontend(anyDialer, listen, { maxConnections: 0 })), { path: 'maxConnections', problem: words });
  });

  test('the rules across SSH fields hold for the file and the pool alike', () => {
    const words = 'cannot be combined with insecureIgnoreHostKeys: choose one way to trust host keys';
    const doc = withValue(withValue(validDoc(), ['ssh', 'insecureIgnoreHostKeys'], true), ['ssh', 'trustOnFirstUseFile'], 'tofu');
    assert.deepEqual(problem(() => parseConfig(yaml(doc), SOURCE, '/etc'), `${SOURCE}: `), { path: 'ssh.trustOnFirstUseFile', problem: words });
    assert.deepEqual(pool({ insecureIgnoreHostKeys: true, trustOnFirstUseFile: '/tofu' }), { path: 'trustOnFirstUseFile', problem: words });
    const both = 'give passphraseFile or passphraseEnv, not both';
    assert.deepEqual(pool({ passphraseFile: '/p', passphraseEnv: 'P' }), { path: 'passphraseEnv', problem: both });
  });
});
