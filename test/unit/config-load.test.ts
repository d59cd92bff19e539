// Loading the config file: paths resolved against the file, defaults, inventories inline or in a file,
// the example file, and the options handed to the pool and the dialer.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertDaemonListeners, loadConfig, parseConfig, type EgressConfig } from '../../src/config/index.js';
import { loadNodes, toDialerOptions, toPoolOptions } from '../../src/runtime/index.js';
import { ConfigError } from '../../src/errors.js';
import { TlsConfigError } from '../../src/tls/tls-config-error.js';
import { silentLogger } from '../../src/log.js';
import { resolvePoolOptions } from '../../src/tunnel/pool-options.js';
import { validDoc, withValue, yaml } from './config-fixtures.js';
import { createTestCa } from './tls-test-pki.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/ssh-egress.yaml', import.meta.url));
const NODELIST = fileURLToPath(new URL('../fixtures/nodelist.json', import.meta.url));
const logger = silentLogger();
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-load-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const node = (name: string, address: string, extra: object = {}) => ({
  name, address, aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {}, ...extra,
});

describe('parseConfig', () => {
  test('maps the file onto EgressConfig: relative paths from the base directory, modes and addresses parsed', () => {
    const config = parseConfig(yaml(withValue(validDoc(), ['ssh', 'trustOnFirstUseFile'], '~/tofu_hosts')), 'a.yaml', '/etc/ssh-egress');
    const want: EgressConfig = {
      source: 'a.yaml',
      ssh: {
        user: 'egress',
        identityFile: '/etc/ssh-egress/keys/id_ed25519',
        knownHostsFile: '/etc/ssh/known_hosts',
        trustOnFirstUseFile: join(homedir(), 'tofu_hosts'),
        passphraseEnv: 'KEY_PASS',
        keepaliveIntervalMs: 0,
      },
      healthCheck: { kind: 'kubelet-https', path: '/healthz', intervalMs: 1000, timeoutMs: 500, failureThreshold: 2, caFile: '/etc/ssh-egress/pki/ca.crt' },
      inventory: { kind: 'inline', nodes: [node('n1', '198.18.0.1', { podCIDRs: ['198.19.1.0/24'] }), node('n2', '198.18.0.2', { sshPort: 2222 })] },
      serviceCIDRs: ['198.19.240.0/20'],
      policy: { allow: ['192.0.2.0/24:443'], nodePorts: [10250, 9100, '30000-32767'] },
      dialTimeoutMs: 5000,
      listeners: {
        connect: {
          socket: { path: '/etc/ssh-egress/egress.sock', mode: 0o660 },
          tls: {
            host: '127.0.0.1',
            port: 8131,
            certFile: '/etc/ssh-egress/tls/server.crt',
            keyFile: '/etc/ssh-egress/tls/server.key',
            clientCAFile: '/etc/ssh-egress/tls/ca.crt',
          },
        },
        socks: { tcp: { host: '::1', port: 1080 }, users: [{ username: 'kubectl', passwordFile: '/etc/ssh-egress/socks.pass' }] },
        admin: { host: '127.0.0.1', port: 0 },
      },
      readyFraction: 1,
      drainGraceMs: 1000,
      log: { level: 'debug', format: 'text' },
    };
    assert.deepEqual(config, want);
  });

  test('a minimal file gets the defaults; absent settings stay absent so the pool applies its own', () => {
    const config = parseConfig('ssh: {user: root}\ninventory: {file: nodes.yaml}\n', 'min.yaml', '/srv');
    assert.deepEqual(config, {
      source: 'min.yaml',
      ssh: { user: 'root' },
      healthCheck: {},
      inventory: { kind: 'file', path: '/srv/nodes.yaml' },
      serviceCIDRs: [],
      policy: {},
      dialTimeoutMs: 10_000,
      listeners: {},
      readyFraction: 0.5,
      drainGraceMs: 30_000,
      log: {},
    } satisfies EgressConfig);
  });

  test('readiness.maxInventoryStalenessSeconds is carried; absent, staleness never makes the daemon not ready', () => {
    const text = 'ssh: {user: root}\ninventory: {file: n}\nreadiness: {maxInventoryStalenessSeconds: 120}\n';
    const config = parseConfig(text, 'r.yaml', '/');
    assert.equal(config.maxInventoryStalenessSeconds, 120);
    assert.equal(config.readyFraction, 0.5);
  });

  test('listener defaults: socket mode 0600, admin on 127.0.0.1:8132', () => {
    const text = 'ssh: {user: root}\ninventory: {file: n}\nlisteners:\n  socks: {socket: {path: /run/s.sock}}\n  admin: {}\n';
    const { listeners } = parseConfig(text, 'l.yaml', '/');
    assert.deepEqual(listeners, { socks: { socket: { path: '/run/s.sock', mode: 0o600 } }, admin: { host: '127.0.0.1', port: 8132 } });
  });

  test('IPv6 and names in listen addresses; a public SOCKS address is fine with users', () => {
    const doc = withValue(withValue(validDoc(), ['listeners', 'socks', 'listen'], '[FD00::1]:1080'), ['listeners', 'admin', 'listen'], 'localhost:9000');
    const { listeners } = parseConfig(yaml(doc), 'a.yaml', '/');
    assert.deepEqual(listeners.socks?.tcp, { host: 'fd00::1', port: 1080 });
    assert.deepEqual(listeners.admin, { host: 'localhost', port: 9000 });
    const open = withValue(validDoc(), ['listeners', 'socks', 'listen'], '0.0.0.0:1080');
    assert.deepEqual(parseConfig(yaml(open), 'a.yaml', '/').listeners.socks?.tcp, { host: '0.0.0.0', port: 1080 });
    const admin = withValue(validDoc(), ['listeners', 'admin'], { listen: '0.0.0.0:8132', allowNonLoopback: true });
    assert.deepEqual(parseConfig(yaml(admin), 'a.yaml', '/').listeners.admin, { host: '0.0.0.0', port: 8132, allowNonLoopback: true });
  });
});

describe('loadConfig', () => {
  test('relative paths resolve against the config file\'s directory, not the working directory', async () => {
    await mkdir(join(dir, 'etc'), { recursive: true });
    const file = join(dir, 'etc', 'egress.yaml');
    await writeFile(file, 'ssh: {user: root, identityFile: key}\ninventory: {file: ../nodes.yaml}\n');
    const config = await loadConfig(file);
    assert.equal(config.source, file);
    assert.equal(config.ssh.identityFile, join(dir, 'etc', 'key'));
    assert.deepEqual(config.inventory, { kind: 'file', path: join(dir, 'nodes.yaml') });
  });

  test('a file that cannot be read is named', async () => {
    const missing = join(dir, 'nope.yaml');
    await assert.rejects(loadConfig(missing), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.message, `${missing}: config file does not exist`);
      return true;
    });
    await assert.rejects(loadConfig(dir), /is a directory/);
  });

  test('the example file loads, and is a complete daemon config', async () => {
    const config = await loadConfig(EXAMPLE);
    assertDaemonListeners(config);
    assert.equal(config.ssh.user, 'root');
    assert.equal(config.inventory.kind, 'file');
    assert.deepEqual(config.listeners.connect?.socket, { path: '/run/ssh-egress/egress.sock', mode: 0o600 });
    assert.deepEqual(config.listeners.admin, { host: '127.0.0.1', port: 8132 });
    assert.ok(config.policy.nodePorts?.length);
    // The pool accepts every setting the example gives (the kubelet files it names do not exist here).
    const { caFile: _ca, certFile: _cert, keyFile: _key, ...check } = config.healthCheck;
    resolvePoolOptions({ ...config.ssh, healthCheck: check });
  });
});

describe('inventory: inline or a file', () => {
  test('inline nodes are validated like an inventory file and handed out as copies', async () => {
    const config = parseConfig(yaml(validDoc()), 'a.yaml', '/');
    const nodes = await loadNodes(config.inventory);
    assert.deepEqual(nodes.map((n) => n.name), ['n1', 'n2']);
    nodes[0]!.podCIDRs.push('10.0.0.0/8');
    assert.deepEqual((await loadNodes(config.inventory))[0]!.podCIDRs, ['198.19.1.0/24']);
  });

  test('a file inventory is read at loadNodes, with addressTypes applied to a NodeList', async () => {
    const doc = withValue(validDoc(), ['inventory'], { file: NODELIST, addressTypes: ['Hostname'] });
    const config = parseConfig(yaml(doc), 'a.yaml', '/');
    assert.deepEqual(config.inventory, { kind: 'file', path: NODELIST, addressTypes: ['Hostname'] });
    const byHostname = await loadNodes(config.inventory);
    const byDefault = await loadNodes({ kind: 'file', path: NODELIST });
    assert.equal(byHostname.length, byDefault.length);
    assert.notDeepEqual(byHostname.map((n) => n.address), byDefault.map((n) => n.address));
  });
});

describe('options for the pool and the dialer', () => {
  test('toPoolOptions: ssh settings, health check, drain grace; no TLS without files', async () => {
    const config = parseConfig('ssh: {user: root, identityFile: /k, keepaliveCountMax: 5}\ninventory: {file: n}\nhealthCheck: {kind: tcp, port: 22}\ndrain: {graceMs: 500}\n', 'a.yaml', '/');
    const options = await toPoolOptions(config, logger);
    assert.deepEqual({ ...options, logger: undefined }, {
      user: 'root', identityFile: '/k', keepaliveCountMax: 5, healthCheck: { kind: 'tcp', port: 22 }, drainGraceMs: 500, logger: undefined,
    });
    assert.equal(options.logger, logger);
    // No undefined values that would hide the pool's defaults.
    assert.equal(resolvePoolOptions(options).connectTimeoutMs, 10_000);
  });

  test('toPoolOptions reads the kubelet CA and client certificate into healthCheck.tls', async () => {
    const ca = createTestCa('kubernetes');
    const client = ca.issue({ commonName: 'kube-apiserver-kubelet-client', usage: 'client' });
    await writeFile(join(dir, 'ca.crt'), ca.certPem);
    await writeFile(join(dir, 'client.crt'), client.certPem);
    await writeFile(join(dir, 'client.key'), client.keyPem, { mode: 0o600 });
    const text = 'ssh: {user: root}\ninventory: {file: n}\nhealthCheck: {caFile: ca.crt, certFile: client.crt, keyFile: client.key}\n';
    const options = await toPoolOptions(parseConfig(text, 'a.yaml', dir), logger);
    const tls = options.healthCheck?.tls;
    assert.ok(tls);
    assert.ok(Array.isArray(tls.ca) && tls.ca.length === 1);
    assert.match(String(tls.ca[0]), /BEGIN CERTIFICATE/);
    assert.match(String(tls.cert), /BEGIN CERTIFICATE/);
    assert.match(String(tls.key), /BEGIN PRIVATE KEY/);
    assert.equal(tls.rejectUnauthorized, undefined);

    const missing = parseConfig('ssh: {user: root}\ninventory: {file: n}\nhealthCheck: {caFile: none.crt}\n', 'a.yaml', dir);
    await assert.rejects(toPoolOptions(missing, logger), (err: unknown) => err instanceof TlsConfigError && err.message.includes(join(dir, 'none.crt')));
  });

  test('toDialerOptions: service CIDRs, policy, dial timeout, logger', () => {
    const config = parseConfig(yaml(validDoc()), 'a.yaml', '/');
    assert.deepEqual(toDialerOptions(config, logger), {
      serviceCIDRs: ['198.19.240.0/20'],
      policy: { allow: ['192.0.2.0/24:443'], nodePorts: [10250, 9100, '30000-32767'] },
      dialTimeoutMs: 5000,
      logger,
    });
  });

  test('assertDaemonListeners: the daemon needs a proxy listener; admin alone is not one', () => {
    const config = parseConfig('ssh: {user: root}\ninventory: {file: n}\nlisteners: {admin: {}}\n', 'a.yaml', '/');
    assert.throws(() => assertDaemonListeners(config), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.path, 'listeners');
      assert.match(err.message, /^a\.yaml: listeners: the daemon needs listeners\.connect or listeners\.socks/);
      return true;
    });
  });
});
