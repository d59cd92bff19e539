import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidTargetError } from '../../src/errors.js';
import { parseTarget, type DialTarget, type ParsedTarget } from '../../src/dialer/target.js';

/** Runs parseTarget, which must refuse the target with an InvalidTargetError, and returns the error. */
function refused(target: unknown): InvalidTargetError {
  try {
    parseTarget(target as DialTarget);
  } catch (err) {
    assert.ok(err instanceof InvalidTargetError, `expected an InvalidTargetError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_INVALID_TARGET');
    assert.equal(err.name, 'InvalidTargetError');
    return err;
  }
  assert.fail(`expected ${JSON.stringify(target)} to be refused, it parsed`);
}

test('parseTarget: strings', () => {
  const cases: { in: string; want: ParsedTarget }[] = [
    { in: 'n1:9100', want: { kind: 'address', host: 'n1', port: 9100, ip: false, text: 'n1:9100' } },
    { in: '198.19.2.7:8080', want: { kind: 'address', host: '198.19.2.7', port: 8080, ip: true, text: '198.19.2.7:8080' } },
    { in: '  198.19.2.7:1  ', want: { kind: 'address', host: '198.19.2.7', port: 1, ip: true, text: '198.19.2.7:1' } },
    { in: '[fd00::1]:8080', want: { kind: 'address', host: 'fd00::1', port: 8080, ip: true, text: '[fd00::1]:8080' } },
    { in: '[FD00:0::1]:80', want: { kind: 'address', host: 'fd00::1', port: 80, ip: true, text: '[FD00:0::1]:80' } },
    {
      in: '[fd00:0000:0000:0000:0000:0000:0000:0001]:65535',
      want: { kind: 'address', host: 'fd00::1', port: 65535, ip: true, text: '[fd00:0000:0000:0000:0000:0000:0000:0001]:65535' },
    },
    // IPv4-mapped IPv6 is the IPv4 address, so it routes like one.
    { in: '[::ffff:198.19.2.7]:80', want: { kind: 'address', host: '198.19.2.7', port: 80, ip: true, text: '[::ffff:198.19.2.7]:80' } },
    {
      in: 'Node-A.example:10250',
      want: { kind: 'address', host: 'node-a.example', port: 10250, ip: false, text: 'Node-A.example:10250' },
    },
    {
      in: 'NODE-3.Example.:443',
      want: { kind: 'address', host: 'node-3.example', port: 443, ip: false, text: 'NODE-3.Example.:443' },
    },
    { in: 'n1.cluster.internal.:22', want: { kind: 'address', host: 'n1.cluster.internal', port: 22, ip: false, text: 'n1.cluster.internal.:22' } },
    // Digits are fine inside a name, and in any label but the last.
    { in: 'node10:80', want: { kind: 'address', host: 'node10', port: 80, ip: false, text: 'node10:80' } },
    { in: '10.nodes.example:80', want: { kind: 'address', host: '10.nodes.example', port: 80, ip: false, text: '10.nodes.example:80' } },
  ];
  for (const c of cases) assert.deepEqual(parseTarget(c.in), c.want, c.in);
});

test('parseTarget: objects', () => {
  const cases: { in: DialTarget; want: ParsedTarget }[] = [
    { in: { kind: 'kubelet', node: 'n1' }, want: { kind: 'kubelet', node: 'n1', text: 'kubelet of node n1' } },
    { in: { kind: 'node', node: 'n2', port: 9100 }, want: { kind: 'node', node: 'n2', port: 9100, text: 'n2:9100' } },
    {
      in: { kind: 'address', host: '198.19.1.7', port: 8080 },
      want: { kind: 'address', host: '198.19.1.7', port: 8080, ip: true, text: '198.19.1.7:8080' },
    },
    {
      in: { kind: 'address', host: 'FD00:1:0::7', port: 8080 },
      want: { kind: 'address', host: 'fd00:1::7', port: 8080, ip: true, text: 'FD00:1:0::7:8080' },
    },
    {
      in: { kind: 'address', host: '[fd00:1::7]', port: 8080 },
      want: { kind: 'address', host: 'fd00:1::7', port: 8080, ip: true, text: '[fd00:1::7]:8080' },
    },
    {
      in: { kind: 'address', host: 'Node-A.Example.', port: 10250 },
      want: { kind: 'address', host: 'node-a.example', port: 10250, ip: false, text: 'Node-A.Example.:10250' },
    },
  ];
  for (const c of cases) assert.deepEqual(parseTarget(c.in), c.want, JSON.stringify(c.in));
});

test('parseTarget: refusals say why', () => {
  const cases: { name: string; in: unknown; why: RegExp }[] = [
    { name: 'empty string', in: '', why: /missing port/ },
    { name: 'blank string', in: '   ', why: /missing port/ },
    { name: 'missing port', in: 'n1', why: /missing port/ },
    { name: 'empty port', in: 'n1:', why: /port "" is not a number from 1 to 65535/ },
    { name: 'port 0', in: 'n1:0', why: /port 0 is not a number from 1 to 65535/ },
    { name: 'port 65536', in: 'n1:65536', why: /port 65536 is not a number from 1 to 65535/ },
    { name: 'port abc', in: 'n1:abc', why: /port "abc" is not a number/ },
    { name: 'negative port', in: 'n1:-1', why: /port "-1" is not a number/ },
    { name: 'six-digit port', in: 'n1:100000', why: /port "100000" is not a number/ },
    { name: 'bracketed IPv6 without port', in: '[fd00::1]', why: /IPv6 address needs brackets and a port/ },
    { name: 'bracketed IPv6, empty port', in: '[fd00::1]:', why: /port "" is not a number/ },
    { name: 'bare IPv6 with port', in: 'fd00::1:80', why: /IPv6 address needs brackets and a port, e\.g\. \[fd00::1\]:8080/ },
    { name: 'bad host characters', in: 'a_b:80', why: /"a_b" is neither an IP address nor a host name/ },
    { name: 'empty host', in: ':80', why: /"" is neither an IP address nor a host name/ },
    { name: 'bracketed garbage', in: '[not-ip!]:80', why: /"not-ip!" is neither/ },
    { name: 'empty label', in: 'a..b:80', why: /"a\.\.b" is neither/ },
    { name: 'label over 63 characters', in: `${'a'.repeat(64)}.example:80`, why: /is neither an IP address nor a host name/ },
    // A bare number, a shortened or octal IPv4 and an out-of-range quad look like IPs but are not canonical
    // ones; the inventory refuses names with an all-numeric last label, and so do targets.
    { name: 'bare number', in: '10:80', why: /"10" is neither an IP address nor a host name/ },
    { name: 'shortened IPv4', in: '127.1:80', why: /"127\.1" is neither/ },
    { name: 'three-part IPv4', in: '198.19.2:80', why: /"198\.19\.2" is neither/ },
    { name: 'octal IPv4', in: '010.0.0.1:80', why: /"010\.0\.0\.1" is neither/ },
    { name: 'quad out of range', in: '10.0.0.256:80', why: /"10\.0\.0\.256" is neither/ },
    { name: 'numeric last label, trailing dot', in: 'a.10.:80', why: /"a\.10\." is neither/ },
    { name: 'null', in: null, why: /expected "host:port" or a target object/ },
    { name: 'undefined', in: undefined, why: /expected "host:port" or a target object/ },
    { name: 'number', in: 8080, why: /expected "host:port" or a target object/ },
    { name: 'unknown kind', in: { kind: 'pod', name: 'x' }, why: /unknown kind "pod" \(expected kubelet, node or address\)/ },
    { name: 'no kind', in: { host: 'n1', port: 80 }, why: /unknown kind "undefined"/ },
    { name: 'kubelet without node', in: { kind: 'kubelet' }, why: /node name is missing/ },
    { name: 'kubelet with empty node', in: { kind: 'kubelet', node: '' }, why: /node name is missing/ },
    { name: 'node without port', in: { kind: 'node', node: 'n1' }, why: /port undefined is not a number from 1 to 65535/ },
    { name: 'node with port 0', in: { kind: 'node', node: 'n1', port: 0 }, why: /port 0 is not/ },
    { name: 'node with string port', in: { kind: 'node', node: 'n1', port: '80' }, why: /port "80" is not/ },
    { name: 'node with fractional port', in: { kind: 'node', node: 'n1', port: 80.5 }, why: /port 80\.5 is not/ },
    { name: 'address with port 65536', in: { kind: 'address', host: '198.19.1.7', port: 65536 }, why: /port 65536 is not/ },
    { name: 'address without host', in: { kind: 'address', port: 80 }, why: /host is missing/ },
    { name: 'address with bad host', in: { kind: 'address', host: 'a_b', port: 80 }, why: /"a_b" is neither/ },
  ];
  for (const c of cases) {
    const err = refused(c.in);
    assert.match(err.message, /^invalid target "/, c.name);
    assert.match(err.message, c.why, c.name);
  }
});

test('parseTarget: the refused string is quoted in the message and kept as err.target', () => {
  const err = refused('fd00::1:80');
  assert.equal(err.target, 'fd00::1:80');
  assert.match(err.message, /^invalid target "fd00::1:80": /);
});
