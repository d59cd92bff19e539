import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, NoRouteError, PolicyDeniedError } from '../../src/errors.js';
import { parseCidr } from '../../src/net/cidr.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { parseTarget, type DialTarget } from '../../src/dialer/target.js';
import { route, type RouteReason } from '../../src/dialer/router.js';
import { buildRoutingTable } from '../../src/dialer/routing-table.js';
import { DestinationPolicy } from '../../src/dialer/policy.js';
import type { DestinationPolicyOptions } from '../../src/dialer/policy-options.js';
import { parsePortRange } from '../../src/net/port-range.js';

function spec(name: string, address: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, address, aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {}, ...extra };
}

const TABLE = buildRoutingTable([
  spec('n1', '198.18.0.11', { aliases: ['n1.cluster.internal'], podCIDRs: ['198.19.1.0/24'] }),
  spec('N2', '198.18.0.12', { kubeletPort: 10350, podCIDRs: ['198.19.2.0/24'] }),
]);
const SERVICES = [parseCidr('198.19.240.0/20')!];

/** Routes then checks, as Dialer.resolve does; returns the reason or throws. */
function decide(policy: DestinationPolicy, target: DialTarget): RouteReason {
  const parsed = parseTarget(target);
  const found = route(parsed, TABLE, { serviceCIDRs: SERVICES, allowedCIDRs: policy.allowedCIDRs });
  policy.check(found, parsed.text, TABLE);
  return found.reason;
}

const POLICY: DestinationPolicyOptions = {
  allow: ['192.0.2.0/24', { cidr: '203.0.113.0/24', ports: [443, '8000-8100'] }, '203.0.113.128/25:22', 'fd00:ee::/64:53'],
  nodePorts: [9100, '30000-32767'],
};

test('policy: what the cluster and the allow list permit', () => {
  const policy = DestinationPolicy.fromOptions(POLICY);
  const cases: { in: DialTarget; want: RouteReason }[] = [
    // The kubelet port is always allowed, whatever nodePorts says, and it is each node's own.
    { in: { kind: 'kubelet', node: 'n1' }, want: 'kubelet' },
    { in: { kind: 'kubelet', node: 'n2' }, want: 'kubelet' },
    { in: '198.18.0.11:10250', want: 'kubelet' },
    { in: 'n2:10350', want: 'kubelet' },
    { in: { kind: 'node', node: 'n1', port: 9100 }, want: 'node' },
    { in: 'n1.cluster.internal:30000', want: 'node' },
    { in: '198.18.0.12:32767', want: 'node' },
    // Pods and services: any port.
    { in: '198.19.1.7:22', want: 'pod' },
    { in: '198.19.2.7:65535', want: 'pod' },
    { in: '198.19.240.10:6379', want: 'service' },
    // Allowed ranges: every port without a list, else only the listed ones.
    { in: '192.0.2.40:5432', want: 'allowed' },
    { in: '203.0.113.5:443', want: 'allowed' },
    { in: '203.0.113.5:8000', want: 'allowed' },
    { in: '203.0.113.5:8100', want: 'allowed' },
    // Two rules cover 203.0.113.200: either one's ports will do.
    { in: '203.0.113.200:22', want: 'allowed' },
    { in: '203.0.113.200:443', want: 'allowed' },
    { in: '[fd00:ee::1]:53', want: 'allowed' },
  ];
  for (const c of cases) assert.equal(decide(policy, c.in), c.want, JSON.stringify(c.in));
});

test('policy: refusals name the rule; unknown destinations stay ERR_NO_ROUTE', () => {
  const policy = DestinationPolicy.fromOptions(POLICY);
  const cases: { in: DialTarget; code: 'ERR_POLICY_DENIED' | 'ERR_NO_ROUTE'; message: string | RegExp; node?: string }[] = [
    {
      in: '198.18.0.11:22',
      code: 'ERR_POLICY_DENIED',
      message: 'policy denies 198.18.0.11:22: node ports allowed are 9100, 30000-32767, 10250 (kubelet)',
      node: 'n1',
    },
    { in: { kind: 'node', node: 'n1', port: 10255 }, code: 'ERR_POLICY_DENIED', message: /^policy denies n1:10255: node ports allowed are/, node: 'n1' },
    // Another node's kubelet port is not this node's.
    { in: 'n1:10350', code: 'ERR_POLICY_DENIED', message: /node ports allowed are 9100, 30000-32767, 10250 \(kubelet\)$/, node: 'n1' },
    { in: 'n2:10250', code: 'ERR_POLICY_DENIED', message: /node ports allowed are 9100, 30000-32767, 10350 \(kubelet\)$/, node: 'N2' },
    { in: 'n1.cluster.internal:29999', code: 'ERR_POLICY_DENIED', message: /^policy denies n1\.cluster\.internal:29999: /, node: 'n1' },
    {
      in: '203.0.113.5:22',
      code: 'ERR_POLICY_DENIED',
      message: 'policy denies 203.0.113.5:22: port 22 is not allowed for 203.0.113.5; allowed ports are 443, 8000-8100 (203.0.113.0/24)',
    },
    {
      in: '203.0.113.200:80',
      code: 'ERR_POLICY_DENIED',
      message: /allowed ports are 443, 8000-8100 \(203\.0\.113\.0\/24\); 22 \(203\.0\.113\.128\/25\)$/,
    },
    { in: '203.0.113.5:8101', code: 'ERR_POLICY_DENIED', message: /port 8101 is not allowed/ },
    { in: '[fd00:ee::1]:54', code: 'ERR_POLICY_DENIED', message: /port 54 is not allowed for fd00:ee::1/ },
    // Outside everything: not a policy question, there is no route at all.
    { in: '8.8.8.8:53', code: 'ERR_NO_ROUTE', message: /^no route to 8\.8\.8\.8:53/ },
    { in: '198.51.100.1:443', code: 'ERR_NO_ROUTE', message: /is not a node address/ },
    { in: 'example.com:443', code: 'ERR_NO_ROUTE', message: /never through DNS/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => decide(policy, c.in),
      (err: unknown) => {
        const name = JSON.stringify(c.in);
        assert.ok(c.code === 'ERR_POLICY_DENIED' ? err instanceof PolicyDeniedError : err instanceof NoRouteError, `${name}: ${String(err)}`);
        const e = err as PolicyDeniedError;
        assert.equal(e.code, c.code, name);
        if (typeof c.message === 'string') assert.equal(e.message, c.message, name);
        else assert.match(e.message, c.message, name);
        if (c.code === 'ERR_POLICY_DENIED') assert.equal(e.message, `policy denies ${e.target}: ${e.reason}`);
        assert.equal(e.node, c.node, name);
        return true;
      },
    );
  }
});

test('policy: nodePorts [] leaves only the kubelet; no nodePorts leaves every node port', () => {
  const kubeletOnly = DestinationPolicy.fromOptions({ nodePorts: [] });
  assert.equal(decide(kubeletOnly, 'n1:10250'), 'kubelet');
  assert.throws(() => decide(kubeletOnly, 'n1:9100'), /^PolicyDeniedError: policy denies n1:9100: node ports allowed are 10250 \(kubelet\)$/);
  // A listed kubelet port is not repeated.
  const listed = DestinationPolicy.fromOptions({ nodePorts: ['10250', 9100] });
  assert.throws(() => decide(listed, 'n1:22'), /node ports allowed are 10250, 9100$/);
  for (const open of [DestinationPolicy.fromOptions(undefined), DestinationPolicy.fromOptions({})]) {
    assert.equal(decide(open, 'n1:22'), 'node');
    assert.equal(decide(open, '198.18.0.12:1'), 'node');
  }
});

test('policy: allowedCIDRs keeps working as every port and joins policy.allow', () => {
  const policy = DestinationPolicy.fromOptions({ allow: ['203.0.113.0/24:443'] }, ['192.0.2.0/24']);
  assert.deepEqual(policy.allowedCIDRs.map((c) => c.text), ['192.0.2.0/24', '203.0.113.0/24']);
  assert.equal(decide(policy, '192.0.2.1:1'), 'allowed');
  assert.equal(decide(policy, '192.0.2.1:65535'), 'allowed');
  assert.equal(decide(policy, '203.0.113.1:443'), 'allowed');
  assert.throws(() => decide(policy, '203.0.113.1:80'), PolicyDeniedError);
});

test('policy options: invalid fields fail with ConfigError naming the field', () => {
  const cases: { name: string; policy?: unknown; allowedCIDRs?: unknown; message: string }[] = [
    { name: 'port too big', policy: { nodePorts: [10250, 9100, '70000'] }, message: 'policy.nodePorts[2]: "70000" is not a port or port range' },
    { name: 'number too big', policy: { nodePorts: [70000] }, message: 'policy.nodePorts[0]: 70000 is not a port or port range' },
    { name: 'port zero', policy: { nodePorts: [0] }, message: 'policy.nodePorts[0]: 0 is not a port or port range' },
    { name: 'fraction', policy: { nodePorts: [1.5] }, message: 'policy.nodePorts[0]: 1.5 is not a port or port range' },
    { name: 'descending range', policy: { nodePorts: ['9000-8000'] }, message: 'policy.nodePorts[0]: "9000-8000" is not a port or port range' },
    { name: 'hex', policy: { nodePorts: ['0x1bb'] }, message: 'policy.nodePorts[0]: "0x1bb" is not a port or port range' },
    { name: 'open range', policy: { nodePorts: ['8000-'] }, message: 'policy.nodePorts[0]: "8000-" is not a port or port range' },
    // The words of the config file's schema, which the dialer's options share.
    { name: 'not a list', policy: { nodePorts: 10250 }, message: 'policy.nodePorts: expected a list, got 10250' },
    { name: 'policy not an object', policy: ['10.0.0.0/8'], message: 'policy: expected a mapping, got a list' },
    // A typo must not silently widen (or narrow) what is reachable.
    { name: 'unknown policy field', policy: { nodeports: [22] }, message: 'policy.nodeports: unknown field (known fields: allow, nodePorts)' },
    { name: 'unknown rule field', policy: { allow: [{ cidr: '10.0.0.0/8', port: 443 }] }, message: 'policy.allow[0].port: unknown field (known fields: cidr, ports)' },
    { name: 'missing cidr', policy: { allow: [{ ports: [443] }] }, message: 'policy.allow[0].cidr: required field is missing' },
    { name: 'bad cidr', policy: { allow: [{ cidr: '10.0.0.0/33' }] }, message: 'policy.allow[0].cidr: "10.0.0.0/33" is not a CIDR' },
    { name: 'bare IP', policy: { allow: ['192.0.2.1'] }, message: 'policy.allow[0]: "192.0.2.1" is not a CIDR (write 192.0.2.1/32 for one address)' },
    { name: 'bare IPv6', policy: { allow: ['fd00::1'] }, message: 'policy.allow[0]: "fd00::1" is not a CIDR (write fd00::1/128 for one address)' },
    { name: 'empty ports', policy: { allow: [{ cidr: '10.0.0.0/8', ports: [] }] }, message: 'policy.allow[0].ports: must be a non-empty list of ports or ranges (omit it for every port)' },
    { name: 'bad rule port', policy: { allow: [{ cidr: '10.0.0.0/8', ports: [443, 'https'] }] }, message: 'policy.allow[0].ports[1]: "https" is not a port or port range' },
    { name: 'bad string port', policy: { allow: ['10.0.0.0/8', '10.0.0.0/8:443,99999'] }, message: 'policy.allow[1]: "10.0.0.0/8:443,99999" has "99999", which is not a port or port range' },
    { name: 'empty string ports', policy: { allow: ['10.0.0.0/8:'] }, message: 'policy.allow[0]: "10.0.0.0/8:" has "", which is not a port or port range' },
    { name: 'rule of wrong type', policy: { allow: [443] }, message: 'policy.allow[0]: expected "cidr", "cidr:ports" or { cidr, ports }, got 443' },
    { name: 'legacy list', allowedCIDRs: ['192.0.2.0/24', 'nope'], message: 'allowedCIDRs[1]: "nope" is not a CIDR' },
  ];
  for (const c of cases) {
    assert.throws(
      () => DestinationPolicy.fromOptions(c.policy as DestinationPolicyOptions, c.allowedCIDRs as string[]),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${c.name}: ${String(err)}`);
        assert.equal(err.code, 'ERR_CONFIG');
        assert.equal(err.message, c.message, c.name);
        return true;
      },
    );
  }
});

test('policy options: the string forms of allow rules', () => {
  const cases: { in: string; cidr: string; open: number[]; shut: number[] }[] = [
    { in: '10.0.0.0/8', cidr: '10.0.0.0/8', open: [1, 443, 65535], shut: [] },
    { in: '10.0.0.0/8:443', cidr: '10.0.0.0/8', open: [443], shut: [80, 444] },
    { in: '10.0.0.0/8:443,8000-8100', cidr: '10.0.0.0/8', open: [443, 8000, 8050, 8100], shut: [7999, 8101] },
    { in: 'fd00::/64:443', cidr: 'fd00::/64', open: [443], shut: [80] },
    { in: '[fd00::/64]:80-81', cidr: 'fd00::/64', open: [80, 81], shut: [443] },
    { in: 'fd00::/64', cidr: 'fd00::/64', open: [1, 65535], shut: [] },
  ];
  for (const c of cases) {
    const policy = DestinationPolicy.fromOptions({ allow: [c.in] });
    assert.deepEqual(policy.allowedCIDRs.map((x) => x.text), [c.cidr], c.in);
    const host = c.cidr.includes(':') ? '[fd00::9]' : '10.1.2.3';
    for (const port of c.open) assert.equal(decide(policy, `${host}:${port}`), 'allowed', `${c.in} ${port}`);
    for (const port of c.shut) assert.throws(() => decide(policy, `${host}:${port}`), PolicyDeniedError, `${c.in} ${port}`);
  }
});

test('port specs', () => {
  const cases: { in: unknown; want: { from: number; to: number } | undefined }[] = [
    { in: 1, want: { from: 1, to: 1 } },
    { in: 65535, want: { from: 65535, to: 65535 } },
    { in: '443', want: { from: 443, to: 443 } },
    { in: '30000-32767', want: { from: 30000, to: 32767 } },
    { in: '80-80', want: { from: 80, to: 80 } },
    { in: 0, want: undefined },
    { in: 65536, want: undefined },
    { in: -1, want: undefined },
    { in: NaN, want: undefined },
    { in: '', want: undefined },
    { in: ' 443', want: undefined },
    { in: '1e3', want: undefined },
    { in: '443-', want: undefined },
    { in: '-443', want: undefined },
    { in: '100000', want: undefined },
    { in: '0-10', want: undefined },
    { in: null, want: undefined },
    { in: [443], want: undefined },
  ];
  for (const c of cases) assert.deepEqual(parsePortRange(c.in), c.want, JSON.stringify(c.in));
});
