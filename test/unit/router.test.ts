import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoRouteError, TunnelUnavailableError } from '../../src/errors.js';
import { parseCidr, type Cidr } from '../../src/net/cidr.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { parseTarget, type DialTarget } from '../../src/dialer/target.js';
import { route, type Route, type RoutingRules } from '../../src/dialer/router.js';
import { buildRoutingTable, nodeForHost } from '../../src/dialer/routing-table.js';
import { SpreadPicker } from '../../src/dialer/picker.js';
import { TunnelState } from '../../src/tunnel/state.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';

function spec(name: string, address: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, address, aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {}, ...extra };
}

function cidrs(...texts: string[]): Cidr[] {
  return texts.map((text) => {
    const cidr = parseCidr(text);
    assert.ok(cidr, `${text} is a CIDR`);
    return cidr;
  });
}

const NODES: NodeSpec[] = [
  spec('n1', '198.18.0.11', { aliases: ['n1.cluster.internal'], podCIDRs: ['198.19.1.0/24', 'fd00:1::/64'] }),
  spec('n2', '198.18.0.12', { kubeletPort: 10350, podCIDRs: ['198.19.2.0/24'] }),
  // Reached by DNS name, with IP aliases; 198.19.2.250 lies inside n2's pod CIDR (for the precedence test).
  spec('n3', 'node-3.example', { aliases: ['198.18.0.13', '198.19.2.250'] }),
];
const TABLE = buildRoutingTable(NODES);
const RULES: RoutingRules = {
  serviceCIDRs: cidrs('10.96.0.0/12', 'fd00:96::/108'),
  allowedCIDRs: cidrs('192.0.2.0/24'),
};

function resolve(target: DialTarget, rules: RoutingRules = RULES): Route {
  return route(parseTarget(target), TABLE, rules);
}

test('route: kubelet and node targets go to that node, dialling its address', () => {
  const cases: { in: DialTarget; want: Route }[] = [
    { in: { kind: 'kubelet', node: 'n1' }, want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 10250, reason: 'kubelet' } },
    // kubeletPort comes from the node, not a default.
    { in: { kind: 'kubelet', node: 'n2' }, want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 10350, reason: 'kubelet' } },
    { in: { kind: 'kubelet', node: 'N3' }, want: { via: 'node', node: 'n3', host: 'node-3.example', port: 10250, reason: 'kubelet' } },
    { in: { kind: 'node', node: 'n2', port: 9100 }, want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 9100, reason: 'node' } },
    { in: { kind: 'node', node: 'n3', port: 22 }, want: { via: 'node', node: 'n3', host: 'node-3.example', port: 22, reason: 'node' } },
  ];
  for (const c of cases) assert.deepEqual(resolve(c.in), c.want, JSON.stringify(c.in));
});

test('route: addresses, names and aliases of nodes go to that node', () => {
  const cases: { in: DialTarget; want: Route }[] = [
    // By primary address.
    { in: '198.18.0.11:9100', want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 9100, reason: 'node' } },
    // The kubelet dialled by address and port, as kube-apiserver does, counts as a kubelet route.
    { in: '198.18.0.11:10250', want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 10250, reason: 'kubelet' } },
    { in: 'n2:10350', want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 10350, reason: 'kubelet' } },
    { in: '198.18.0.12:10250', want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 10250, reason: 'node' } },
    // By name: the host becomes the node's address (names never reach a resolver).
    { in: 'n2:9100', want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 9100, reason: 'node' } },
    { in: 'N2.:9100', want: { via: 'node', node: 'n2', host: '198.18.0.12', port: 9100, reason: 'node' } },
    // By IP alias: dialled as given.
    { in: '198.18.0.13:9100', want: { via: 'node', node: 'n3', host: '198.18.0.13', port: 9100, reason: 'node' } },
    // By host-name alias: the node's address.
    { in: 'N1.Cluster.Internal:10255', want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 10255, reason: 'node' } },
    { in: 'n1.cluster.internal.:10255', want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 10255, reason: 'node' } },
    // By DNS address: the node's configured address, which is that name.
    { in: 'Node-3.Example:9100', want: { via: 'node', node: 'n3', host: 'node-3.example', port: 9100, reason: 'node' } },
    { in: 'n3:9100', want: { via: 'node', node: 'n3', host: 'node-3.example', port: 9100, reason: 'node' } },
    // Object form of an address target routes the same way.
    { in: { kind: 'address', host: 'n1', port: 22 }, want: { via: 'node', node: 'n1', host: '198.18.0.11', port: 22, reason: 'node' } },
  ];
  for (const c of cases) assert.deepEqual(resolve(c.in), c.want, JSON.stringify(c.in));
});

test('route: pod IPs go to the node owning the pod CIDR; services and allowed ranges to any node', () => {
  const cases: { in: DialTarget; want: Route }[] = [
    { in: '198.19.1.7:8080', want: { via: 'node', node: 'n1', host: '198.19.1.7', port: 8080, reason: 'pod' } },
    { in: '198.19.2.7:8080', want: { via: 'node', node: 'n2', host: '198.19.2.7', port: 8080, reason: 'pod' } },
    { in: '198.19.2.255:8080', want: { via: 'node', node: 'n2', host: '198.19.2.255', port: 8080, reason: 'pod' } },
    { in: '[FD00:1::0:7]:8080', want: { via: 'node', node: 'n1', host: 'fd00:1::7', port: 8080, reason: 'pod' } },
    { in: '[fd00:1::ffff:ffff:ffff:ffff]:80', want: { via: 'node', node: 'n1', host: 'fd00:1::ffff:ffff:ffff:ffff', port: 80, reason: 'pod' } },
    { in: { kind: 'address', host: 'fd00:1::7', port: 53 }, want: { via: 'node', node: 'n1', host: 'fd00:1::7', port: 53, reason: 'pod' } },
    { in: '10.96.0.1:443', want: { via: 'any', host: '10.96.0.1', port: 443, reason: 'service' } },
    { in: '10.111.255.255:53', want: { via: 'any', host: '10.111.255.255', port: 53, reason: 'service' } },
    { in: '[fd00:96::a]:443', want: { via: 'any', host: 'fd00:96::a', port: 443, reason: 'service' } },
    { in: '192.0.2.40:5432', want: { via: 'any', host: '192.0.2.40', port: 5432, reason: 'allowed' } },
  ];
  for (const c of cases) assert.deepEqual(resolve(c.in), c.want, JSON.stringify(c.in));
});

test('route: a node address or alias inside a pod CIDR goes to the node, not the pod owner', () => {
  // 198.19.2.250 lies in n2's pod CIDR but is n3's alias.
  assert.deepEqual(resolve('198.19.2.250:9100'), { via: 'node', node: 'n3', host: '198.19.2.250', port: 9100, reason: 'node' });
  // A node whose primary address lies in another node's pod CIDR, listed after it.
  const table = buildRoutingTable([...NODES, spec('n4', '198.19.1.250')]);
  assert.deepEqual(route(parseTarget('198.19.1.250:10250'), table, RULES), {
    via: 'node',
    node: 'n4',
    host: '198.19.1.250',
    port: 10250,
    reason: 'kubelet',
  });
  assert.deepEqual(route(parseTarget('198.19.1.249:80'), table, RULES), { via: 'node', node: 'n1', host: '198.19.1.249', port: 80, reason: 'pod' });
  // A service range that also covers a pod: the pod owner wins (strategies fall through in order).
  const overlapping: RoutingRules = { serviceCIDRs: cidrs('198.19.0.0/16'), allowedCIDRs: [] };
  assert.deepEqual(resolve('198.19.1.9:80', overlapping), { via: 'node', node: 'n1', host: '198.19.1.9', port: 80, reason: 'pod' });
  assert.deepEqual(resolve('198.19.9.9:80', overlapping), { via: 'any', host: '198.19.9.9', port: 80, reason: 'service' });
});

test('route: refusals carry ERR_NO_ROUTE and the reason', () => {
  const cases: { name: string; in: DialTarget; rules?: RoutingRules; why: RegExp }[] = [
    { name: 'unknown node, kubelet', in: { kind: 'kubelet', node: 'n9' }, why: /no node named "n9" in the inventory/ },
    { name: 'unknown node, node port', in: { kind: 'node', node: 'n9', port: 22 }, why: /no node named "n9"/ },
    // kubelet/node targets name a node; an address there is not looked up as an alias.
    { name: 'kubelet by address', in: { kind: 'kubelet', node: '198.18.0.11' }, why: /no node named "198\.18\.0\.11"/ },
    // String only: nothing here opens a connection.
    {
      name: 'outside IPv4',
      in: '8.8.8.8:53',
      why: /8\.8\.8\.8 is not a node address, in no node's pod CIDR, in no service CIDR and in no allowed range/,
    },
    { name: 'outside IPv6', in: '[2001:db8::1]:443', why: /2001:db8::1 is not a node address/ },
    { name: 'just outside a pod CIDR', in: '198.19.3.1:80', why: /198\.19\.3\.1 is not a node address/ },
    { name: 'IPv6 outside the pod /64', in: '[fd00:2::1]:80', why: /fd00:2::1 is not a node address/ },
    { name: 'service IP without service CIDRs', in: '10.96.0.1:443', rules: { serviceCIDRs: [], allowedCIDRs: [] }, why: /10\.96\.0\.1 is not/ },
    { name: 'allowed IP without allowed CIDRs', in: '192.0.2.40:80', rules: { serviceCIDRs: [], allowedCIDRs: [] }, why: /192\.0\.2\.40 is not/ },
    {
      name: 'unknown host name',
      in: 'example.com:443',
      why: /"example\.com" is not a node name or address \(names resolve only to nodes, never through DNS\)/,
    },
    // A partial name is not a node either.
    { name: 'prefix of an alias', in: 'n1.cluster:443', why: /never through DNS/ },
  ];
  for (const c of cases) {
    assert.throws(
      () => resolve(c.in, c.rules),
      (err: unknown) => {
        assert.ok(err instanceof NoRouteError, `${c.name}: expected NoRouteError, got ${String(err)}`);
        assert.equal(err.code, 'ERR_NO_ROUTE', c.name);
        assert.match(err.message, /^no route to /, c.name);
        assert.match(err.message, c.why, c.name);
        return true;
      },
      c.name,
    );
  }
});

test('routing table: lookups by name, canonical IP and lower-case name; pod CIDRs in inventory order', () => {
  assert.equal(nodeForHost(TABLE, 'N1')?.name, 'n1');
  assert.equal(nodeForHost(TABLE, 'n1.cluster.internal.')?.name, 'n1');
  assert.equal(nodeForHost(TABLE, 'NODE-3.example')?.name, 'n3');
  assert.equal(nodeForHost(TABLE, '198.18.0.13')?.name, 'n3');
  assert.equal(nodeForHost(TABLE, '::ffff:198.18.0.12')?.name, 'n2');
  assert.equal(nodeForHost(TABLE, 'n4'), undefined);
  assert.deepEqual(
    TABLE.podCIDRs.map((e) => [e.cidr.text, e.node.name]),
    [
      ['198.19.1.0/24', 'n1'],
      ['fd00:1::/64', 'n1'],
      ['198.19.2.0/24', 'n2'],
    ],
  );
  // An IPv6 alias is stored canonically, so any spelling finds it.
  const v6 = buildRoutingTable([spec('v6', 'FD00:0:0::10')]);
  assert.equal(nodeForHost(v6, 'fd00::10')?.name, 'v6');
  assert.deepEqual(route(parseTarget('[fd00:0::10]:22'), v6, RULES), { via: 'node', node: 'v6', host: 'fd00::10', port: 22, reason: 'node' });
});

// ---- SpreadPicker ------------------------------------------------------------------------------------------

interface FakeTunnel {
  name: string;
  currentState: TunnelState;
  openStreams: number;
}

function tunnels(...specs: Array<[string, TunnelState, number?]>): Tunnel[] {
  return specs.map(([name, currentState, openStreams = 0]) => ({ name, currentState, openStreams }) satisfies FakeTunnel as unknown as Tunnel);
}

function picks(picker: SpreadPicker, list: readonly Tunnel[], times: number): string[] {
  return Array.from({ length: times }, () => picker.pick(list, '10.96.0.1:443').name);
}

test('SpreadPicker: rotates among equally loaded READY tunnels', () => {
  const { READY, TRANSIENT_FAILURE } = TunnelState;
  const list = tunnels(['a', READY], ['b', READY], ['c', READY]);
  const got = picks(new SpreadPicker(), list, 6);
  assert.deepEqual(got.slice(0, 3).sort(), ['a', 'b', 'c']);
  assert.deepEqual(got.slice(3), got.slice(0, 3));
  // Only READY ones share the load.
  const mixed = tunnels(['a', READY], ['b', TRANSIENT_FAILURE], ['c', READY], ['d', TunnelState.CONNECTING]);
  const spread = picks(new SpreadPicker(), mixed, 8);
  assert.deepEqual([...new Set(spread)].sort(), ['a', 'c']);
  assert.equal(spread.filter((n) => n === 'a').length, 4);
});

test('SpreadPicker: prefers the READY tunnel with the fewest open streams', () => {
  const { READY, CONNECTING } = TunnelState;
  const cases: { name: string; list: Tunnel[]; want: string }[] = [
    { name: 'least loaded last', list: tunnels(['a', READY, 5], ['b', READY, 3], ['c', READY, 1]), want: 'c' },
    { name: 'least loaded first', list: tunnels(['a', READY, 0], ['b', READY, 3], ['c', READY, 1]), want: 'a' },
    { name: 'idle CONNECTING loses to a busy READY', list: tunnels(['a', CONNECTING, 0], ['b', READY, 50]), want: 'b' },
  ];
  for (const c of cases) {
    const picker = new SpreadPicker();
    // Whatever the rotation cursor, the least loaded wins.
    for (const name of picks(picker, c.list, c.list.length * 2)) assert.equal(name, c.want, c.name);
  }
  // Among the least loaded, rotation still spreads.
  const tie = tunnels(['a', READY, 2], ['b', READY, 1], ['c', READY, 1]);
  assert.deepEqual([...new Set(picks(new SpreadPicker(), tie, 6))].sort(), ['b', 'c']);
});

test('SpreadPicker: without READY tunnels it waits on a connecting one, else throws TunnelUnavailableError', () => {
  const { TRANSIENT_FAILURE, CONNECTING, IDLE, SHUTDOWN } = TunnelState;
  assert.equal(new SpreadPicker().pick(tunnels(['a', TRANSIENT_FAILURE], ['b', CONNECTING]), 't').name, 'b');
  assert.equal(new SpreadPicker().pick(tunnels(['a', SHUTDOWN], ['b', IDLE]), 't').name, 'b');
  const dead: { name: string; list: Tunnel[] }[] = [
    { name: 'all TRANSIENT_FAILURE', list: tunnels(['a', TRANSIENT_FAILURE], ['b', TRANSIENT_FAILURE]) },
    { name: 'all SHUTDOWN or failing', list: tunnels(['a', SHUTDOWN], ['b', TRANSIENT_FAILURE]) },
    { name: 'no tunnels', list: [] },
  ];
  for (const c of dead) {
    assert.throws(
      () => new SpreadPicker().pick(c.list, '10.96.0.1:443'),
      (err: unknown) => {
        assert.ok(err instanceof TunnelUnavailableError, `${c.name}: got ${String(err)}`);
        assert.equal(err.code, 'ERR_TUNNEL_UNAVAILABLE');
        assert.match(err.message, /no tunnel can carry 10\.96\.0\.1:443: none is ready/);
        return true;
      },
      c.name,
    );
  }
});
