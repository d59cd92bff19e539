// Every field of the config file: a bad value is a ConfigError that names the file and the field.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parseConfig } from '../../src/config/index.js';
import { validDoc, withValue, yaml, type Doc } from './config-fixtures.js';

const SOURCE = 'ssh-egress.yaml';

function configError(doc: Doc | string): ConfigError {
  try {
    parseConfig(typeof doc === 'string' ? doc : yaml(doc), SOURCE, '/etc/ssh-egress');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_CONFIG');
    return err;
  }
  assert.fail('expected a ConfigError, the config was accepted');
}

interface Case {
  at: (string | number)[];
  value: unknown;
  /** The reported path; defaults to `at` written with dots and brackets. */
  path?: string;
  message: RegExp;
}

const dotted = (at: (string | number)[]): string => at.map((s, i) => (typeof s === 'number' ? `[${s}]` : i ? `.${s}` : s)).join('');

const FIELD_CASES: Case[] = [
  { at: ['ssh', 'user'], value: undefined, message: /^required field is missing$/ },
  { at: ['ssh', 'user'], value: 'two words', message: /^"two words" is not a user name$/ },
  { at: ['ssh', 'identityFile'], value: '', message: /^"" is not a file path$/ },
  { at: ['ssh', 'passphraseEnv'], value: 'KEY-PASS', message: /^"KEY-PASS" is not an environment variable name$/ },
  { at: ['ssh', 'agentSocket'], value: 7, message: /^7 is not a file path$/ },
  { at: ['ssh', 'knownHostsFile'], value: ['a'], message: /^a list is not a file path$/ },
  { at: ['ssh', 'trustOnFirstUseFile'], value: '', message: /is not a file path/ },
  { at: ['ssh', 'insecureIgnoreHostKeys'], value: 'yes', message: /^expected a boolean, got "yes"$/ },
  { at: ['ssh', 'connectTimeoutMs'], value: 0, message: /^0 is not a whole number of milliseconds from 1 to 2147483647$/ },
  { at: ['ssh', 'handshakeTimeoutMs'], value: 1.5, message: /^1\.5 is not a whole number of milliseconds/ },
  { at: ['ssh', 'keepaliveIntervalMs'], value: -1, message: /^-1 is not a whole number of milliseconds from 0 \(off\)/ },
  { at: ['ssh', 'keepaliveCountMax'], value: 0, message: /^0 is not a whole number >= 1$/ },
  { at: ['ssh', 'maxConcurrentConnects'], value: '8', message: /^"8" is not a whole number >= 1$/ },
  { at: ['ssh', 'connectionsPerNode'], value: 9, message: /^9 is not a whole number from 1 to 8$/ },
  { at: ['ssh', 'connectionWindowBytes'], value: 4096, message: /^4096 is not a whole number of bytes >= 65536$/ },
  { at: ['ssh', 'pasphraseFile'], value: 'p', message: /^unknown field \(known fields: user, identityFile, passphraseFile, passphraseEnv, agentSocket,/ },
  { at: ['ssh', 'passphrase'], value: 'secret', message: /^unknown field \(passphrases are not kept in the config: use passphraseFile or passphraseEnv\)$/ },
  { at: ['healthCheck', 'kind'], value: 'http', message: /^"http" is not one of kubelet-https, tcp, ssh$/ },
  { at: ['healthCheck', 'path'], value: 'healthz', message: /^"healthz" is not a URL path starting with "\/"$/ },
  { at: ['healthCheck', 'port'], value: 70000, message: /^70000 is not a port number \(1\.\.65535\)$/ },
  { at: ['healthCheck', 'intervalMs'], value: 0, message: /is not a whole number of milliseconds/ },
  { at: ['healthCheck', 'timeoutMs'], value: 2 ** 31, message: /^2147483648 is not a whole number of milliseconds/ },
  { at: ['healthCheck', 'failureThreshold'], value: 0, message: /^0 is not a whole number >= 1$/ },
  { at: ['healthCheck', 'caFile'], value: '', message: /is not a file path/ },
  { at: ['healthCheck', 'certFile'], value: 1, message: /is not a file path/ },
  { at: ['inventory', 'nodes', 1, 'podCIDRs', 0], value: '10.0.0.0/33', path: 'inventory.nodes[1] (node "n2").podCIDRs[0]', message: /^"10\.0\.0\.0\/33" is not a CIDR$/ },
  { at: ['inventory', 'nodes', 0, 'name'], value: 'Node_1', path: 'inventory.nodes[0].name', message: /^"Node_1" is not a valid node name/ },
  { at: ['inventory', 'nodes', 0, 'address'], value: '10.0.0.256', path: 'inventory.nodes[0] (node "n1").address', message: /is not an IP address or DNS name/ },
  { at: ['inventory', 'nodes', 1, 'sshPort'], value: 0, path: 'inventory.nodes[1] (node "n2").sshPort', message: /^0 is not a port number/ },
  { at: ['inventory', 'nodes', 1, 'adress'], value: 'x', path: 'inventory.nodes[1] (node "n2").adress', message: /^unknown field \(known fields: name, address, aliases, sshPort, kubeletPort, podCIDRs,/ },
  { at: ['inventory', 'nodes', 1, 'address'], value: '198.18.0.1', path: 'inventory.nodes[1] (node "n2").address', message: /^duplicate address "198\.18\.0\.1" \(also inventory\.nodes\[0\] \(node "n1"\)\)$/ },
  { at: ['inventory', 'nodes'], value: 'n1', message: /^expected a list, got "n1"$/ },
  { at: ['cluster', 'serviceCIDRs', 0], value: '198.19.240.0', message: /^"198\.19\.240\.0" is not a CIDR \(write 198\.19\.240\.0\/32 for one address\)$/ },
  { at: ['cluster', 'serviceCIDRs', 0], value: '198.19.240.0/33', message: /^"198\.19\.240\.0\/33" is not a CIDR$/ },
  { at: ['cluster', 'serviceCIDRs'], value: '10.96.0.0/12', message: /^expected a list, got "10\.96\.0\.0\/12"$/ },
  { at: ['policy', 'allow', 0], value: 'nonsense', message: /^"nonsense" is not a CIDR$/ },
  { at: ['policy', 'nodePorts', 2], value: 70000, message: /^70000 is not a port or port range$/ },
  { at: ['policy', 'deny'], value: [], message: /^unknown field \(known fields: allow, nodePorts\)$/ },
  { at: ['dial', 'timeoutMs'], value: '10s', message: /^"10s" is not a whole number of milliseconds/ },
  { at: ['listeners', 'connect', 'socket', 'path'], value: '', message: /is not a file path/ },
  { at: ['listeners', 'connect', 'socket', 'mode'], value: '0800', message: /^"0800" is not an octal mode such as "0600"$/ },
  { at: ['listeners', 'connect', 'socket', 'mode'], value: 600, message: /^600 is a number: quote the octal mode/ },
  { at: ['listeners', 'connect', 'tls', 'listen'], value: '8131', message: /^"8131" is not host:port \(such as "127\.0\.0\.1:8132" or "\[::1\]:8132"\)$/ },
  { at: ['listeners', 'connect', 'tls', 'clientCAFile'], value: undefined, message: /^required field is missing$/ },
  { at: ['listeners', 'socks', 'listen'], value: '::1:1080', message: /is not host:port/ },
  { at: ['listeners', 'socks', 'listen'], value: '127.0.0.1:65536', message: /is not host:port/ },
  { at: ['listeners', 'socks', 'users', 0, 'username'], value: '', message: /^"" is not a user name of 1 to 255 bytes$/ },
  { at: ['listeners', 'socks', 'users', 0, 'passwordEnv'], value: '1PASS', message: /is not an environment variable name/ },
  { at: ['listeners', 'socks', 'users', 0, 'password'], value: 'hunter2', message: /^unknown field \(passwords are not kept in the config/ },
  { at: ['listeners', 'admin', 'listen'], value: 'localhost', message: /^"localhost" is not host:port/ },
  { at: ['readiness', 'readyFraction'], value: 1.5, message: /^1\.5 is not a fraction from 0 to 1$/ },
  { at: ['readiness', 'maxInventoryStalenessSeconds'], value: 0, message: /^0 is not a whole number of seconds from 1 to 31622400$/ },
  { at: ['readiness', 'maxInventoryStalenessSeconds'], value: '5m', message: /^"5m" is not a whole number of seconds/ },
  { at: ['drain', 'graceMs'], value: -5, message: /is not a whole number of milliseconds/ },
  { at: ['log', 'level'], value: 'verbose', message: /^"verbose" is not one of error, warn, info, debug$/ },
  { at: ['log', 'format'], value: 'xml', message: /^"xml" is not one of json, text$/ },
  { at: ['listener'], value: {}, message: /^unknown field \(known fields: ssh, healthCheck, inventory, cluster, policy, dial, limits, listeners, readiness, drain, log\)$/ },
];

const RULE_CASES: Array<{ name: string; change: (doc: Doc) => Doc; path: string; message: RegExp }> = [
  {
    name: 'inventory with both file and nodes',
    change: (d) => withValue(d, ['inventory', 'file'], 'nodes.yaml'),
    path: 'inventory',
    message: /^give exactly one of file, nodes or kubernetes, not several$/,
  },
  { name: 'inventory with neither', change: (d) => withValue(d, ['inventory'], {}), path: 'inventory', message: /^give exactly one of file, nodes or kubernetes$/ },
  {
    name: 'addressTypes with inline nodes',
    change: (d) => withValue(d, ['inventory', 'addressTypes'], ['InternalIP']),
    path: 'inventory.addressTypes',
    message: /only applies to inventory\.file/,
  },
  {
    name: 'an unknown address type',
    change: (d) => withValue(d, ['inventory'], { file: 'nodes.json', addressTypes: ['InternalIp'] }),
    path: 'inventory.addressTypes[0]',
    message: /^"InternalIp" is not one of Hostname, InternalIP, ExternalIP, InternalDNS, ExternalDNS$/,
  },
  {
    name: 'an empty address type list',
    change: (d) => withValue(d, ['inventory'], { file: 'nodes.json', addressTypes: [] }),
    path: 'inventory.addressTypes',
    message: /name at least one/,
  },
  {
    name: 'passphraseFile and passphraseEnv',
    change: (d) => withValue(d, ['ssh', 'passphraseFile'], 'pass'),
    path: 'ssh.passphraseEnv',
    message: /^give passphraseFile or passphraseEnv, not both$/,
  },
  {
    name: 'insecureIgnoreHostKeys and trustOnFirstUseFile',
    change: (d) => withValue(withValue(d, ['ssh', 'insecureIgnoreHostKeys'], true), ['ssh', 'trustOnFirstUseFile'], 'tofu'),
    path: 'ssh.trustOnFirstUseFile',
    message: /cannot be combined with insecureIgnoreHostKeys/,
  },
  {
    name: 'a SOCKS user with a password file and a variable',
    change: (d) => withValue(d, ['listeners', 'socks', 'users', 0, 'passwordEnv'], 'P'),
    path: 'listeners.socks.users[0]',
    message: /^give exactly one of passwordFile or passwordEnv$/,
  },
  {
    name: 'a SOCKS user without a password',
    change: (d) => withValue(d, ['listeners', 'socks', 'users', 0, 'passwordFile'], undefined),
    path: 'listeners.socks.users[0]',
    message: /^give exactly one of passwordFile or passwordEnv$/,
  },
  {
    name: 'a SOCKS user twice',
    change: (d) => withValue(d, ['listeners', 'socks', 'users', 1], { username: 'kubectl', passwordEnv: 'P' }),
    path: 'listeners.socks.users[1].username',
    message: /^duplicate user "kubectl"$/,
  },
  {
    name: 'SOCKS on a public address without users',
    change: (d) => withValue(withValue(d, ['listeners', 'socks', 'users'], undefined), ['listeners', 'socks', 'listen'], '0.0.0.0:1080'),
    path: 'listeners.socks.listen',
    message: /^0\.0\.0\.0 is not a loopback address, .*add listeners\.socks\.users/,
  },
  {
    name: 'admin on a public address without allowNonLoopback',
    change: (d) => withValue(d, ['listeners', 'admin', 'listen'], '0.0.0.0:8132'),
    path: 'listeners.admin.listen',
    message: /allowNonLoopback: true/,
  },
  { name: 'an empty connect listener', change: (d) => withValue(d, ['listeners', 'connect'], {}), path: 'listeners.connect', message: /^give socket, listen and\/or tls$/ },
  { name: 'a plain connect listener off loopback', change: (d) => withValue(d, ['listeners', 'connect'], { listen: '0.0.0.0:8131' }), path: 'listeners.connect.listen', message: /0\.0\.0\.0 is not a loopback address: plain CONNECT has no authentication/ },
  { name: 'an empty socks listener', change: (d) => withValue(d, ['listeners', 'socks'], {}), path: 'listeners.socks', message: /^give listen and\/or socket$/ },
  {
    name: 'a Unix socket path longer than sun_path',
    change: (d) => withValue(d, ['listeners', 'connect', 'socket', 'path'], `/run/${'x'.repeat(110)}.sock`),
    path: 'listeners.connect.socket.path',
    message: /longer than a Unix socket path may be \(107 bytes\)/,
  },
  {
    name: 'a kubelet client certificate without its key',
    change: (d) => withValue(d, ['healthCheck', 'certFile'], 'client.crt'),
    path: 'healthCheck.keyFile',
    message: /give certFile and keyFile together/,
  },
  {
    name: 'TLS files for a tcp health check',
    change: (d) => withValue(d, ['healthCheck', 'kind'], 'tcp'),
    path: 'healthCheck.caFile',
    message: /^only applies to kind kubelet-https \(kind is tcp\)$/,
  },
  {
    name: 'a port for the kubelet-https health check',
    change: (d) => withValue(d, ['healthCheck', 'port'], 10255),
    path: 'healthCheck.port',
    message: /only applies to kind tcp/,
  },
];

describe('config validation names the file and the field', () => {
  for (const c of FIELD_CASES) {
    const path = c.path ?? dotted(c.at);
    test(`${path} = ${JSON.stringify(c.value) ?? '(missing)'}`, () => {
      const err = configError(withValue(validDoc(), c.at, c.value));
      assert.equal(err.path, path);
      assert.ok(err.message.startsWith(`${SOURCE}: ${path}: `), err.message);
      assert.match(err.message.slice(`${SOURCE}: ${path}: `.length), c.message);
    });
  }
  for (const c of RULE_CASES) {
    test(c.name, () => {
      const err = configError(c.change(validDoc()));
      assert.equal(err.path, c.path);
      assert.ok(err.message.startsWith(`${SOURCE}: ${c.path}: `), err.message);
      assert.match(err.message.slice(`${SOURCE}: ${c.path}: `.length), c.message);
    });
  }
});

describe('config documents that are not configs', () => {
  const cases: Array<{ name: string; text: string; message: RegExp }> = [
    { name: 'a YAML syntax error gives line and column', text: 'ssh:\n  user: root\n   bad: [\n', message: /^ssh-egress\.yaml: invalid YAML at line \d+, column \d+: / },
    { name: 'a key given twice', text: 'ssh: {user: a}\ninventory: {file: n}\nssh: {user: b}\n', message: /^ssh-egress\.yaml: invalid YAML at line 3, column 1: Map keys must be unique/ },
    { name: 'an empty file', text: '', message: /^ssh-egress\.yaml: expected a mapping .*got an empty document$/ },
    { name: 'a list', text: '- a\n', message: /^ssh-egress\.yaml: expected a mapping/ },
  ];
  for (const c of cases) {
    test(c.name, () => assert.match(configError(c.text).message, c.message));
  }

  test('a misspelt key is reported before the required field it leaves missing, with a count of the rest', () => {
    const err = configError('ssh: {usr: root}\ninventory: {file: n}\n');
    assert.equal(err.message, `${SOURCE}: ssh.usr: unknown field (known fields: user, identityFile, passphraseFile, passphraseEnv, agentSocket, knownHostsFile, trustOnFirstUseFile, insecureIgnoreHostKeys, connectTimeoutMs, handshakeTimeoutMs, keepaliveIntervalMs, keepaliveCountMax, maxConcurrentConnects, connectionWindowBytes, connectionsPerNode, tunnel) (and 1 more problem)`);
  });
});
