// What kube-apiserver dials, routed from nodes as the API describes them: kubelets (logs, exec,
// port-forward), node proxy ports, pod and endpoint IPs (by pod CIDR, dual-stack), ClusterIPs, and host
// names that are a node's name, Hostname or InternalDNS address.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Dialer } from '../../src/dialer/dialer.js';
import { NoRouteError } from '../../src/errors.js';
import { mapNodes } from '../../src/kube/node-mapping.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { k8sNode } from '../fixtures/kube-objects.js';
import { fakeConnector } from './fake-connector.js';

let pool: TunnelPool;
let dialer: Dialer;

before(() => {
  const a = k8sNode({
    name: 'ip-198-18-0-11.ec2.internal',
    address: '198.18.0.11',
    podCIDR: '198.19.1.0/24',
    kubeletPort: 10250,
    extraAddresses: [
      { type: 'InternalDNS', address: 'ip-198-18-0-11.eu-west-1.compute.internal' },
      { type: 'ExternalIP', address: '198.18.100.11' },
    ],
  });
  (a.spec as Record<string, unknown>).podCIDRs = ['198.19.1.0/24', 'fd00:10:244:1::/64'];
  const b = k8sNode({ name: 'worker-b', address: '198.18.0.12', podCIDR: '198.19.2.0/24', kubeletPort: 10255 });
  const { nodes } = mapNodes(new Map([['a', a], ['b', b]]), new Map(), { source: 'test' });
  // lazyConnect: routing is all this checks, so no tunnel ever connects.
  pool = new TunnelPool({ user: 'root', connector: fakeConnector().connector, lazyConnect: true, healthCheck: { kind: 'ssh' } });
  pool.setNodes(nodes);
  dialer = new Dialer(pool, { serviceCIDRs: ['198.19.240.0/20'] });
});

after(async () => {
  await pool.close();
});

const route = (target: Parameters<Dialer['resolve']>[0]) => {
  const r = dialer.resolve(target);
  return `${r.via === 'node' ? r.node : '(any)'} ${r.host}:${r.port} ${r.reason}`;
};

test('kubelet requests (logs, exec, port-forward) go to the node\'s kubelet port from daemonEndpoints', () => {
  assert.equal(route({ kind: 'kubelet', node: 'worker-b' }), 'worker-b 198.18.0.12:10255 kubelet');
  // kube-apiserver dials the address its --kubelet-preferred-address-types picked, or the node name.
  assert.equal(route('198.18.0.12:10255'), 'worker-b 198.18.0.12:10255 kubelet');
  assert.equal(route('worker-b:10255'), 'worker-b 198.18.0.12:10255 kubelet');
});

test('node proxy to other ports (/api/v1/nodes/NAME:9100/proxy) goes to that node', () => {
  assert.equal(route({ kind: 'node', node: 'worker-b', port: 9100 }), 'worker-b 198.18.0.12:9100 node');
});

test('host names that are a node\'s name, Hostname or InternalDNS address route to it, dialled at its address', () => {
  assert.equal(route('ip-198-18-0-11.ec2.internal:10250'), 'ip-198-18-0-11.ec2.internal 198.18.0.11:10250 kubelet');
  assert.equal(route('IP-198-18-0-11.EU-WEST-1.compute.internal.:10250'), 'ip-198-18-0-11.ec2.internal 198.18.0.11:10250 kubelet');
  // An IP alias (ExternalIP) is the node too, and dialled as given.
  assert.equal(route('198.18.100.11:10250'), 'ip-198-18-0-11.ec2.internal 198.18.100.11:10250 kubelet');
});

test('pod IPs and endpoint IPs (which are pod IPs) go to the node whose pod CIDRs hold them, IPv4 and IPv6', () => {
  assert.equal(route('198.19.1.7:8080'), 'ip-198-18-0-11.ec2.internal 198.19.1.7:8080 pod');
  assert.equal(route('[fd00:10:244:1::7]:8080'), 'ip-198-18-0-11.ec2.internal fd00:10:244:1::7:8080 pod');
  assert.equal(route('198.19.2.200:53'), 'worker-b 198.19.2.200:53 pod');
});

test('service ClusterIPs go through any ready node; anything else is refused', () => {
  assert.equal(route('198.19.240.10:443'), '(any) 198.19.240.10:443 service');
  assert.throws(() => dialer.resolve('198.18.255.1:443'), NoRouteError);
  assert.throws(() => dialer.resolve('kubernetes.default.svc:443'), /not a node name or address/);
});
