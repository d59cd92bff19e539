// Command-line flags: alone they make a config for the CLI; with a file they override it, field by field.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { applyFlags, configFromFlags, parseConfig, type ConfigFlags, type EgressConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { validDoc, withValue, yaml } from './config-fixtures.js';

const fromFile = (doc = validDoc()): EgressConfig => parseConfig(yaml(doc), 'egress.yaml', '/etc/ssh-egress');

function flagError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('configFromFlags', () => {
  test('the CLI flags alone make a complete config; relative paths from the working directory', () => {
    const config = configFromFlags({
      inventory: 'nodes.yaml',
      user: 'egress',
      identity: 'id_ed25519',
      knownHosts: '/etc/ssh/known_hosts',
      trustOnFirstUse: 'tofu',
      serviceCidr: ['10.96.0.0/12', 'fd00:96::/108'],
      connectTimeout: 3000,
      logLevel: 'debug',
      logFormat: 'json',
    });
    assert.deepEqual(config, {
      source: 'command line',
      ssh: {
        user: 'egress',
        identityFile: resolve('id_ed25519'),
        knownHostsFile: '/etc/ssh/known_hosts',
        trustOnFirstUseFile: resolve('tofu'),
        connectTimeoutMs: 3000,
        handshakeTimeoutMs: 3000,
      },
      healthCheck: {},
      inventory: { kind: 'file', path: resolve('nodes.yaml') },
      serviceCIDRs: ['10.96.0.0/12', 'fd00:96::/108'],
      policy: {},
      dialTimeoutMs: 10_000,
      listeners: {},
      readyFraction: 0.5,
      drainGraceMs: 30_000,
      log: { level: 'debug', format: 'json' },
    } satisfies EgressConfig);
  });

  test('user root by default; --inventory is required', () => {
    assert.equal(configFromFlags({ inventory: '/n.yaml' }).ssh.user, 'root');
    const err = flagError(() => configFromFlags({ user: 'x' }));
    assert.equal(err.path, '--inventory');
    assert.match(err.message, /^--inventory: is required \(or give --config/);
  });

  test('daemon listeners from flags', () => {
    const config = configFromFlags({
      inventory: '/n.yaml',
      connectSocket: '/run/egress.sock',
      connectListen: '0.0.0.0:8131',
      tlsCert: '/pki/server.crt',
      tlsKey: '/pki/server.key',
      clientCa: '/pki/ca.crt',
      socksListen: '[::1]:1080',
      adminListen: '127.0.0.1:0',
    });
    assert.deepEqual(config.listeners, {
      connect: {
        socket: { path: '/run/egress.sock', mode: 0o600 },
        tls: { host: '0.0.0.0', port: 8131, certFile: '/pki/server.crt', keyFile: '/pki/server.key', clientCAFile: '/pki/ca.crt' },
      },
      socks: { tcp: { host: '::1', port: 1080 } },
      admin: { host: '127.0.0.1', port: 0 },
    });
  });
});

describe('applyFlags over a config file', () => {
  test('flags replace the file\'s values; the rest of the file stays; the input is not changed', () => {
    const file = fromFile(withValue(validDoc(), ['inventory'], { file: 'nodes.json', addressTypes: ['Hostname'] }));
    const before = structuredClone(file);
    const config = applyFlags(file, {
      inventory: '/other/nodes.yaml',
      user: 'admin',
      identity: '/keys/other',
      knownHosts: '/kh',
      serviceCidr: ['10.96.0.0/12'],
      connectSocket: '/run/other.sock',
      connectListen: '[::]:9131',
      tlsCert: '/pki/other.crt',
      socksListen: '127.0.0.2:1081',
      adminListen: '[::1]:9132',
      logLevel: 'warn',
    });
    assert.deepEqual(file, before);
    assert.equal(config.source, 'egress.yaml');
    assert.deepEqual(config.inventory, { kind: 'file', path: '/other/nodes.yaml', addressTypes: ['Hostname'] });
    assert.deepEqual(config.ssh, { ...file.ssh, user: 'admin', identityFile: '/keys/other', knownHostsFile: '/kh' });
    assert.deepEqual(config.serviceCIDRs, ['10.96.0.0/12'], 'replaced, not appended');
    // The socket keeps the file's mode; the TLS listener keeps the file's key and CA.
    assert.deepEqual(config.listeners.connect, {
      socket: { path: '/run/other.sock', mode: 0o660 },
      tls: { host: '::', port: 9131, certFile: '/pki/other.crt', keyFile: '/etc/ssh-egress/tls/server.key', clientCAFile: '/etc/ssh-egress/tls/ca.crt' },
    });
    assert.deepEqual(config.listeners.socks, { ...file.listeners.socks, tcp: { host: '127.0.0.2', port: 1081 } });
    assert.deepEqual(config.listeners.admin, { host: '::1', port: 9132 });
    assert.deepEqual(config.log, { level: 'warn', format: 'text' });
    assert.deepEqual(config.healthCheck, file.healthCheck);
    assert.deepEqual(config.policy, file.policy);
  });

  test('no flags: the same config', () => {
    const file = fromFile();
    assert.deepEqual(applyFlags(file, {}), file);
  });

  test('inline nodes are replaced by --inventory', () => {
    assert.deepEqual(applyFlags(fromFile(), { inventory: '/n.yaml' }).inventory, { kind: 'file', path: '/n.yaml' });
  });

  test('a public SOCKS address is accepted when the file configures users', () => {
    assert.deepEqual(applyFlags(fromFile(), { socksListen: '0.0.0.0:1080' }).listeners.socks?.tcp, { host: '0.0.0.0', port: 1080 });
  });
});

describe('--connect-listen: plain CONNECT on loopback, mutual TLS when TLS is configured', () => {
  const bare = (): EgressConfig => fromFile(withValue(validDoc(), ['listeners'], undefined));

  test('a loopback address without TLS files is plain CONNECT, as listeners.connect.listen in a file', () => {
    for (const [text, tcp] of [
      ['127.0.0.1:8131', { host: '127.0.0.1', port: 8131 }],
      ['[::1]:8131', { host: '::1', port: 8131 }],
      ['localhost:8131', { host: 'localhost', port: 8131 }],
    ] as const) {
      assert.deepEqual(configFromFlags({ inventory: '/n.yaml', connectListen: text }).listeners, { connect: { tcp } }, text);
    }
    const fileListen = fromFile(withValue(validDoc(), ['listeners'], { connect: { listen: '127.0.0.1:8131' } }));
    assert.deepEqual(applyFlags(bare(), { connectListen: '127.0.0.1:8131' }).listeners, fileListen.listeners);
  });

  test('beside a socket from the file or flags; a file\'s plain listener is moved', () => {
    const config = applyFlags(fromFile(withValue(validDoc(), ['listeners'], { connect: { listen: '127.0.0.1:8131' } })), {
      connectListen: '127.0.0.2:9000',
      connectSocket: '/run/egress.sock',
    });
    assert.deepEqual(config.listeners.connect, { socket: { path: '/run/egress.sock', mode: 0o600 }, tcp: { host: '127.0.0.2', port: 9000 } });
  });

  test('with the file\'s listeners.connect.tls, --connect-listen moves the mutual TLS listener (even to loopback)', () => {
    const config = applyFlags(fromFile(), { connectListen: '127.0.0.1:9443' });
    assert.equal(config.listeners.connect?.tcp, undefined);
    assert.deepEqual(config.listeners.connect?.tls, {
      host: '127.0.0.1',
      port: 9443,
      certFile: '/etc/ssh-egress/tls/server.crt',
      keyFile: '/etc/ssh-egress/tls/server.key',
      clientCAFile: '/etc/ssh-egress/tls/ca.crt',
    });
  });
});

describe('bad flags name the flag', () => {
  const bare = (): EgressConfig => fromFile(withValue(withValue(validDoc(), ['listeners'], undefined), ['ssh', 'insecureIgnoreHostKeys'], true));
  const cases: Array<{ name: string; flags: ConfigFlags; base?: () => EgressConfig; path: string; message: RegExp }> = [
    { name: 'a bad user', flags: { user: 'a b' }, path: '--user', message: /^"a b" is not a user name$/ },
    { name: 'an empty identity', flags: { identity: '' }, path: '--identity', message: /is not a file path/ },
    { name: 'a service CIDR that is not one', flags: { serviceCidr: ['10.96.0.0/12', '10.96.0.1'] }, path: '--service-cidr', message: /^"10\.96\.0\.1" is not a CIDR \(write 10\.96\.0\.1\/32 for one address\)$/ },
    { name: 'a connect timeout of 0', flags: { connectTimeout: 0 }, path: '--connect-timeout', message: /is not a whole number of milliseconds/ },
    { name: 'a listen address without port', flags: { adminListen: 'localhost' }, path: '--admin-listen', message: /^"localhost" is not host:port/ },
    { name: 'IPv6 without brackets', flags: { socksListen: '::1:1080' }, path: '--socks-listen', message: /is not host:port/ },
    { name: 'a public admin address', flags: { adminListen: '0.0.0.0:8132' }, path: '--admin-listen', message: /no authentication/ },
    { name: 'a public SOCKS address without users', flags: { socksListen: '0.0.0.0:1080' }, base: bare, path: '--socks-listen', message: /not a loopback address/ },
    {
      name: '--connect-listen without TLS files',
      flags: { connectListen: '0.0.0.0:8131', tlsKey: '/k' },
      base: bare,
      path: '--connect-listen',
      message: /^mutual TLS needs --tls-cert, --client-ca \(or listeners\.connect\.tls in a config file\)$/,
    },
    {
      name: '--connect-listen off loopback without TLS',
      flags: { connectListen: '0.0.0.0:8131' },
      base: bare,
      path: '--connect-listen',
      message: /^0\.0\.0\.0 is not a loopback address: plain CONNECT has no authentication, so it listens on loopback only; give --tls-cert, --tls-key and --client-ca for mutual TLS, or use --connect-socket$/,
    },
    { name: '--connect-listen on a name other than localhost without TLS', flags: { connectListen: 'egress.internal:8131' }, base: bare, path: '--connect-listen', message: /^egress\.internal is not a loopback address/ },
    { name: '--connect-listen on loopback with only some TLS files', flags: { connectListen: '127.0.0.1:8131', tlsCert: '/c' }, base: bare, path: '--connect-listen', message: /^mutual TLS needs --tls-key, --client-ca/ },
    { name: 'TLS files without a TLS listener', flags: { tlsCert: '/c' }, base: bare, path: '--tls-cert', message: /^only applies with --connect-listen/ },
    { name: 'a socket path too long', flags: { connectSocket: `/${'s'.repeat(120)}` }, path: '--connect-socket', message: /longer than a Unix socket path may be/ },
    { name: 'trust on first use over insecureIgnoreHostKeys', flags: { trustOnFirstUse: '/t' }, base: bare, path: '--trust-on-first-use', message: /cannot be combined with ssh\.insecureIgnoreHostKeys in egress\.yaml/ },
    { name: 'a log level', flags: { logLevel: 'trace' }, path: '--log-level', message: /^"trace" is not one of error, warn, info, debug$/ },
    { name: 'a log format', flags: { logFormat: 'xml' }, path: '--log-format', message: /^"xml" is not one of json, text$/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const err = flagError(() => applyFlags((c.base ?? fromFile)(), c.flags));
      assert.equal(err.path, c.path);
      assert.ok(err.message.startsWith(`${c.path}: `), err.message);
      assert.match(err.message.slice(c.path.length + 2), c.message);
    });
  }
});

describe('reverse tunnels: --tunnel, --agent-listen, --agent-host-key, --agent-user-ca', () => {
  test('ssh.tunnel and listeners.agents from the file; the flags override them', () => {
    const doc = withValue(withValue(validDoc(), ['ssh', 'tunnel'], 'auto'), ['listeners', 'agents'], { listen: '0.0.0.0:8022', hostKeyFile: 'agent_host_key', userCAFile: 'user_ca.pub' });
    const config = fromFile(doc);
    assert.equal(config.ssh.tunnel, 'auto');
    assert.deepEqual(config.listeners.agents, { host: '0.0.0.0', port: 8022, hostKeyFile: '/etc/ssh-egress/agent_host_key', userCAFile: '/etc/ssh-egress/user_ca.pub' });
    const flagged = applyFlags(config, { tunnel: 'reverse', agentListen: '198.18.0.1:2222', agentHostKey: '/var/lib/k' });
    assert.equal(flagged.ssh.tunnel, 'reverse');
    assert.deepEqual(flagged.listeners.agents, { host: '198.18.0.1', port: 2222, hostKeyFile: '/var/lib/k', userCAFile: '/etc/ssh-egress/user_ca.pub' });
  });

  test('flags alone; the default direction stays forward (unset)', () => {
    const config = configFromFlags({ inventory: 'nodes.yaml', agentListen: '[::]:8022', agentHostKey: 'k', agentUserCa: 'ca.pub' });
    assert.equal(config.ssh.tunnel, undefined);
    assert.deepEqual(config.listeners.agents, { host: '::', port: 8022, hostKeyFile: resolve('k'), userCAFile: resolve('ca.pub') });
  });

  test('refusals name the flag or field', () => {
    const cases: Array<{ flags: ConfigFlags; path: string; message: RegExp }> = [
      { flags: { inventory: 'n.yaml', tunnel: 'sideways' }, path: '--tunnel', message: /"sideways" is not one of forward, reverse, auto/ },
      { flags: { inventory: 'n.yaml', agentListen: '0.0.0.0:8022' }, path: '--agent-listen', message: /needs --agent-host-key/ },
      { flags: { inventory: 'n.yaml', agentHostKey: 'k' }, path: '--agent-host-key', message: /only applies with --agent-listen/ },
      { flags: { inventory: 'n.yaml', agentUserCa: 'ca.pub' }, path: '--agent-user-ca', message: /only applies with --agent-listen/ },
      { flags: { inventory: 'n.yaml', agentListen: '8022', agentHostKey: 'k' }, path: '--agent-listen', message: /host:port/ },
    ];
    for (const c of cases) {
      const err = flagError(() => configFromFlags(c.flags));
      assert.equal(err.path, c.path, JSON.stringify(c.flags));
      assert.match(err.message, c.message, JSON.stringify(c.flags));
    }
    assert.throws(() => fromFile(withValue(validDoc(), ['listeners', 'agents'], { listen: '0.0.0.0:8022' })), /listeners\.agents\.hostKeyFile: required field is missing/);
  });
});

describe('kubelet verification: --kubelet-ca, --kubelet-client-cert, --kubelet-client-key', () => {
  test('the flags set healthCheck.caFile, certFile and keyFile, over the file\'s', () => {
    const alone = configFromFlags({ inventory: 'n.yaml', kubeletCa: 'ca.crt', kubeletClientCert: '/pki/c.crt', kubeletClientKey: '/pki/c.key' });
    assert.deepEqual(alone.healthCheck, { caFile: resolve('ca.crt'), certFile: '/pki/c.crt', keyFile: '/pki/c.key' });
    const file = fromFile();
    assert.equal(file.healthCheck.caFile, '/etc/ssh-egress/pki/ca.crt');
    const flagged = applyFlags(file, { kubeletCa: '/other/ca.crt' });
    assert.deepEqual(flagged.healthCheck, { ...file.healthCheck, caFile: '/other/ca.crt' });
  });

  test('refusals name the flag', () => {
    const tcp = (): EgressConfig => fromFile(withValue(withValue(validDoc(), ['healthCheck'], { kind: 'tcp' }), ['listeners'], undefined));
    const cases: Array<{ flags: ConfigFlags; base?: () => EgressConfig; path: string; message: RegExp }> = [
      { flags: { kubeletCa: '' }, path: '--kubelet-ca', message: /is not a file path/ },
      { flags: { kubeletClientCert: '/c.crt' }, path: '--kubelet-client-key', message: /^--kubelet-client-key: give --kubelet-client-cert and --kubelet-client-key together/ },
      { flags: { kubeletClientKey: '/c.key' }, path: '--kubelet-client-cert', message: /together/ },
      { flags: { kubeletCa: '/ca.crt' }, base: tcp, path: '--kubelet-ca', message: /only applies to healthCheck\.kind kubelet-https \(egress\.yaml has tcp\)/ },
    ];
    for (const c of cases) {
      const err = flagError(() => applyFlags((c.base ?? fromFile)(), c.flags));
      assert.equal(err.path, c.path, JSON.stringify(c.flags));
      assert.match(err.message, c.message, JSON.stringify(c.flags));
    }
  });
});
