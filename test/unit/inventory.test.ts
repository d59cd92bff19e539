import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InventoryError } from '../../src/errors.js';
import {
  DEFAULT_ADDRESS_TYPES,
  loadInventory,
  nodeFromK8sNode,
  nodesFromNodeList,
  parseInventory,
  type NodeSpec,
} from '../../src/nodes/index.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/nodelist.json', import.meta.url));
const FP = `SHA256:${createHash('sha256').update('host key').digest('base64').replace(/=+$/, '')}`;

/** A NodeSpec with every default filled, so expectations only spell out what differs. */
function spec(name: string, address: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, address, aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {}, ...extra };
}

/** Runs fn, which must throw an InventoryError, and returns it. */
function inventoryError(fn: () => unknown): InventoryError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof InventoryError, `expected an InventoryError, got ${String(err)}`);
    assert.equal(err.code, 'ERR_INVENTORY');
    return err;
  }
  assert.fail('expected an InventoryError, nothing was thrown');
}

test('our format: defaults filled, values normalised, YAML and JSON alike', () => {
  const cases: { name: string; text: string; want: NodeSpec[] }[] = [
    {
      name: 'minimal YAML node gets every default',
      text: 'nodes:\n  - name: n1\n    address: 198.18.0.11\n',
      want: [spec('n1', '198.18.0.11')],
    },
    {
      name: 'every field set',
      text: [
        'nodes:',
        '  - name: n1.cluster',
        '    address: 198.18.0.11',
        '    aliases: [n1.example.internal, 198.18.1.11]',
        '    sshPort: 2222',
        '    kubeletPort: 10251',
        '    podCIDRs: [198.19.1.0/24, "fd00:10:244:1::/64"]',
        `    hostKeyFingerprints: ["${FP}"]`,
        '    labels: {zone: a, "kubernetes.io/os": linux}',
        '  - name: n2',
        '    address: n2.example.internal',
      ].join('\n'),
      want: [
        spec('n1.cluster', '198.18.0.11', {
          aliases: ['n1.example.internal', '198.18.1.11'],
          sshPort: 2222,
          kubeletPort: 10251,
          podCIDRs: ['198.19.1.0/24', 'fd00:10:244:1::/64'],
          hostKeyFingerprints: [FP],
          labels: { zone: 'a', 'kubernetes.io/os': 'linux' },
        }),
        spec('n2', 'n2.example.internal'),
      ],
    },
    {
      name: 'JSON is read the same way',
      text: JSON.stringify({ nodes: [{ name: 'n1', address: '198.18.0.11', sshPort: 2200, labels: { zone: 'b' } }] }),
      want: [spec('n1', '198.18.0.11', { sshPort: 2200, labels: { zone: 'b' } })],
    },
    {
      name: 'IPv6 compressed lower-case, names lower-case, alias repeating the address dropped',
      text: [
        'nodes:',
        '  - name: n6',
        '    address: "2001:DB8:0:0:0:0:0:11"',
        '    aliases: ["2001:db8::11", N6.Example.Internal, n6.example.internal, "::ffff:198.18.0.16"]',
        '    podCIDRs: ["FD00:0:0:0:0:0:0:0/64"]',
      ].join('\n'),
      want: [
        spec('n6', '2001:db8::11', { aliases: ['n6.example.internal', '198.18.0.16'], podCIDRs: ['fd00::/64'] }),
      ],
    },
    { name: 'an empty node list is an empty inventory', text: 'nodes: []\n', want: [] },
  ];
  for (const c of cases) {
    assert.deepEqual(parseInventory(c.text, 'nodes.yaml'), c.want, c.name);
  }
});

test('kubectl get nodes -o json: address, aliases, kubelet port, pod CIDRs, labels', async () => {
  const nodes = await loadInventory(FIXTURE);
  assert.deepEqual(
    nodes.map((n) => [n.name, n.address, n.aliases, n.kubeletPort, n.podCIDRs, n.sshPort]),
    [
      ['cp-1', '198.18.0.10', ['cp-1'], 10250, ['198.19.0.0/24'], 22],
      ['w-1', '198.18.0.11', ['198.18.100.11', 'w-1'], 10250, ['198.19.1.0/24'], 22],
      ['w-2', '198.18.0.12', ['2001:db8:18::12', 'w-2'], 10250, ['198.19.2.0/24', '2001:db8:42:2::/64'], 22],
    ],
  );
  assert.equal(nodes[0]?.labels['node-role.kubernetes.io/control-plane'], '');
  assert.equal(nodes[2]?.labels['topology.kubernetes.io/zone'], 'zone-b');
  // The library entry point gives the same answer as the file loader.
  assert.deepEqual(nodesFromNodeList(JSON.parse(await readFile(FIXTURE, 'utf8'))), nodes);
});

test('Kubernetes Node shapes: NodeList, lone Node, podCIDR fallback, kubelet port', () => {
  const node = (name: string, extra: Record<string, unknown> = {}) => ({
    metadata: { name },
    status: { addresses: [{ type: 'InternalIP', address: `198.18.0.${name.length + 20}` }] },
    ...extra,
  });
  const cases: { name: string; input: unknown; want: [string, string, number, string[]][] }[] = [
    {
      name: 'NodeList from the API (items carry no kind)',
      input: { kind: 'NodeList', apiVersion: 'v1', items: [node('a'), node('bb')] },
      want: [['a', '198.18.0.21', 10250, []], ['bb', '198.18.0.22', 10250, []]],
    },
    {
      name: 'a lone Node',
      input: { kind: 'Node', ...node('a') },
      want: [['a', '198.18.0.21', 10250, []]],
    },
    {
      name: 'spec.podCIDR when spec.podCIDRs is absent',
      input: { kind: 'NodeList', items: [node('a', { spec: { podCIDR: '198.19.7.0/24' } })] },
      want: [['a', '198.18.0.21', 10250, ['198.19.7.0/24']]],
    },
    {
      name: 'kubelet port from daemonEndpoints; 0 means not reported yet',
      input: {
        kind: 'NodeList',
        items: [
          { ...node('a'), status: { addresses: [{ type: 'InternalIP', address: '198.18.0.21' }], daemonEndpoints: { kubeletEndpoint: { Port: 10255 } } } },
          { ...node('bb'), status: { addresses: [{ type: 'InternalIP', address: '198.18.0.22' }], daemonEndpoints: { kubeletEndpoint: { Port: 0 } } } },
        ],
      },
      want: [['a', '198.18.0.21', 10255, []], ['bb', '198.18.0.22', 10250, []]],
    },
  ];
  for (const c of cases) {
    const got = nodesFromNodeList(c.input).map((n) => [n.name, n.address, n.kubeletPort, n.podCIDRs]);
    assert.deepEqual(got, c.want, c.name);
  }
});

test('address preference: default order, custom order, names', async () => {
  assert.deepEqual(DEFAULT_ADDRESS_TYPES, ['InternalIP', 'ExternalIP', 'Hostname']);
  const cases: { addressTypes: string[]; want: [string, string[]][] }[] = [
    {
      // Only w-1 has an ExternalIP; the others fall through to their InternalIP.
      addressTypes: ['ExternalIP', 'InternalIP'],
      want: [
        ['198.18.0.10', ['cp-1']],
        ['198.18.100.11', ['198.18.0.11', 'w-1']],
        ['198.18.0.12', ['2001:db8:18::12', 'w-2']],
      ],
    },
    {
      addressTypes: ['Hostname'],
      want: [
        ['cp-1', ['198.18.0.10']],
        ['w-1', ['198.18.0.11', '198.18.100.11']],
        ['w-2', ['198.18.0.12', '2001:db8:18::12']],
      ],
    },
  ];
  for (const c of cases) {
    const nodes = await loadInventory(FIXTURE, { addressTypes: c.addressTypes });
    assert.deepEqual(nodes.map((n) => [n.address, n.aliases]), c.want, c.addressTypes.join(','));
  }
  const lone = { metadata: { name: 'x' }, status: { addresses: [{ type: 'ExternalIP', address: '198.18.9.9' }] } };
  assert.equal(nodeFromK8sNode(lone, { addressTypes: ['ExternalIP'] }).address, '198.18.9.9');
});

test('bad input: the message names the file, the node and the field', () => {
  const item = (name: string, addresses: unknown[]) => ({ kind: 'Node', metadata: { name }, status: { addresses } });
  const good = (n: number) => `  - name: w${n}\n    address: 198.18.0.${n}\n`;
  const cases: { name: string; text: string; message: string | RegExp; node?: string }[] = [
    {
      name: 'bad CIDR',
      text: `nodes:\n${good(1)}${good(2)}${good(3)}  - name: w4\n    address: 198.18.0.4\n    podCIDRs: [10.0.0.0/33]\n`,
      message: 'nodes.yaml: nodes[3] (node "w4").podCIDRs[0]: "10.0.0.0/33" is not a CIDR',
      node: 'w4',
    },
    {
      name: 'port out of range',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    sshPort: 70000\n',
      message: 'nodes.yaml: nodes[0] (node "w1").sshPort: 70000 is not a port number (1..65535)',
    },
    {
      name: 'port as a string',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    kubeletPort: "10250"\n',
      message: 'nodes.yaml: nodes[0] (node "w1").kubeletPort: "10250" is not a port number (1..65535)',
    },
    {
      name: 'missing name',
      text: `nodes:\n${good(1)}  - address: 198.18.0.2\n`,
      message: 'nodes.yaml: nodes[1].name: required field is missing',
    },
    {
      name: 'invalid name',
      text: 'nodes:\n  - name: Worker_1\n    address: 198.18.0.1\n',
      message: `nodes.yaml: nodes[0].name: "Worker_1" is not a valid node name (lower-case letters, digits, '-' and '.')`,
    },
    {
      name: 'mistyped IP is not taken for a DNS name',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.256\n',
      message: 'nodes.yaml: nodes[0] (node "w1").address: "198.18.0.256" is not an IP address or DNS name',
    },
    {
      name: 'bad fingerprint',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    hostKeyFingerprints: ["MD5:aa:bb"]\n',
      message: /^nodes\.yaml: nodes\[0\] \(node "w1"\)\.hostKeyFingerprints\[0\]: "MD5:aa:bb" is not a host key fingerprint/,
    },
    {
      name: 'label value not a string',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    labels: {"topology.kubernetes.io/zone": 3}\n',
      message: 'nodes.yaml: nodes[0] (node "w1").labels["topology.kubernetes.io/zone"]: expected a string, got 3',
    },
    {
      name: 'unknown field (a typo)',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    sshport: 2222\n',
      message:
        'nodes.yaml: nodes[0] (node "w1").sshport: unknown field (known fields: name, address, aliases, sshPort, kubeletPort, podCIDRs, hostKeyFingerprints, labels, agentKeys, tunnel)',
    },
    {
      name: 'unknown top-level field',
      text: `nodes:\n${good(1)}defaults: {}\n`,
      message: 'nodes.yaml: defaults: unknown field (known fields: nodes)',
    },
    {
      name: 'several problems: the first is named, the rest counted',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    sshPort: 0\n    kubeletPort: 0\n  - {}\n',
      message: /^nodes\.yaml: nodes\[0\] \(node "w1"\)\.sshPort: 0 is not a port number \(1\.\.65535\) \(and 3 more problems\)$/,
    },
    {
      name: 'duplicate name',
      text: `nodes:\n${good(1)}  - name: w1\n    address: 198.18.0.2\n`,
      message: 'nodes.yaml: nodes[1].name: duplicate node name "w1" (also nodes[0])',
      node: 'w1',
    },
    {
      name: 'duplicate address, however it is written',
      text: 'nodes:\n  - name: w1\n    address: "2001:db8::11"\n  - name: w2\n    address: "2001:DB8:0::11"\n',
      message: 'nodes.yaml: nodes[1] (node "w2").address: duplicate address "2001:db8::11" (also nodes[0] (node "w1"))',
      node: 'w2',
    },
    {
      name: 'NodeList node without a usable address',
      text: JSON.stringify({
        kind: 'List',
        items: [
          item('w1', [{ type: 'InternalIP', address: '198.18.0.1' }]),
          item('w2', [{ type: 'InternalIP', address: '198.18.0.2' }]),
          item('w3', []),
        ],
      }),
      message: 'nodes.yaml: items[2] (node "w3").status.addresses: no address of type InternalIP, ExternalIP or Hostname',
      node: 'w3',
    },
    {
      name: 'NodeList node with only other address types',
      text: JSON.stringify({ kind: 'NodeList', items: [item('w1', [{ type: 'InternalDNS', address: 'w1.internal' }])] }),
      message:
        'nodes.yaml: items[0] (node "w1").status.addresses: no address of type InternalIP, ExternalIP or Hostname (it has InternalDNS)',
    },
    {
      name: 'lone Node without addresses',
      text: JSON.stringify(item('w9', [])),
      message: 'nodes.yaml: node "w9": status.addresses: no address of type InternalIP, ExternalIP or Hostname',
    },
    {
      name: 'NodeList node with a bad pod CIDR',
      text: JSON.stringify({ kind: 'NodeList', items: [{ ...item('w1', []), spec: { podCIDRs: ['198.19.1.0/99'] } }] }),
      message: 'nodes.yaml: items[0] (node "w1").spec.podCIDRs[0]: "198.19.1.0/99" is not a CIDR',
    },
    {
      name: 'NodeList duplicate address',
      text: JSON.stringify({
        kind: 'NodeList',
        items: [item('w1', [{ type: 'InternalIP', address: '198.18.0.1' }]), item('w2', [{ type: 'InternalIP', address: '198.18.0.1' }])],
      }),
      message: 'nodes.yaml: items[1] (node "w2").status.addresses: duplicate address "198.18.0.1" (also items[0] (node "w1"))',
    },
    {
      name: 'a List holding something other than Nodes',
      text: JSON.stringify({ kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'p' } }] }),
      message: 'nodes.yaml: items[0] (node "p").kind: "Pod" is not a Node',
    },
    {
      name: 'YAML syntax error with line and column',
      text: 'nodes:\n  - name: w1\n    address: [198.18.0.1\n',
      message: /^nodes\.yaml: invalid YAML at line 4, column 1: Flow sequence/,
    },
    {
      name: 'YAML duplicate key',
      text: 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    address: 198.18.0.2\n',
      message: /^nodes\.yaml: invalid YAML at line 4, column 5: Map keys must be unique$/,
    },
    {
      name: 'neither format',
      text: 'node:\n  - name: w1\n',
      message: 'nodes.yaml: expected an inventory with "nodes:" or a Kubernetes NodeList or Node ("kind: NodeList", "items:"); it has node',
    },
    {
      name: 'another Kubernetes kind',
      text: 'kind: Pod\nmetadata: {name: p}\n',
      message: 'nodes.yaml: kind: "Pod" is not a Node or NodeList',
    },
    {
      name: 'empty file',
      text: '# nothing yet\n',
      message: /^nodes\.yaml: expected an inventory .*, got an empty document$/,
    },
  ];
  for (const c of cases) {
    const err = inventoryError(() => parseInventory(c.text, 'nodes.yaml'));
    if (typeof c.message === 'string') assert.equal(err.message, c.message, c.name);
    else assert.match(err.message, c.message, c.name);
    assert.equal(err.source, 'nodes.yaml', c.name);
    if (c.node !== undefined) assert.equal(err.node, c.node, c.name);
  }
});

test('files: errors name the path; missing file; an empty address preference', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'inventory-test-'));
  try {
    const bad = join(dir, 'nodes.yaml');
    await writeFile(bad, 'nodes:\n  - name: w1\n    address: 198.18.0.1\n    podCIDRs: [nope]\n');
    await assert.rejects(loadInventory(bad), {
      name: 'InventoryError',
      message: `${bad}: nodes[0] (node "w1").podCIDRs[0]: "nope" is not a CIDR`,
    });
    const missing = join(dir, 'absent.yaml');
    await assert.rejects(loadInventory(missing), { name: 'InventoryError', message: `${missing}: cannot read inventory: no such file` });
    await assert.rejects(loadInventory(dir), { name: 'InventoryError', message: `${dir}: cannot read inventory: is a directory, not a file` });
    await assert.rejects(loadInventory(FIXTURE, { addressTypes: [] }), { name: 'InventoryError', message: /addressTypes is empty/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('reverse tunnels: agentKeys are OpenSSH public key lines, tunnel is forward, reverse or auto', () => {
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnXKgKH8d2EnKF1QCtrtMW4tS2C6HtFSxoO1eqsoI8u n1-agent';
  const text = `nodes:\n  - name: n1\n    address: 198.18.0.1\n    tunnel: reverse\n    agentKeys: ["  ${key}  "]\n  - name: n2\n    address: 198.18.0.2\n`;
  assert.deepEqual(parseInventory(text, 'nodes.yaml'), [
    spec('n1', '198.18.0.1', { tunnel: 'reverse', agentKeys: [key] }),
    spec('n2', '198.18.0.2'),
  ]);
  const cases = [
    { value: 'tunnel: sideways', message: /nodes\[0\] \(node "n1"\)\.tunnel: "sideways" is not one of forward, reverse, auto$/ },
    { value: 'agentKeys: ["ssh-ed25519 AAAA"]', message: /nodes\[0\] \(node "n1"\)\.agentKeys\[0\]: .* is not an OpenSSH public key line/ },
    { value: 'agentKeys: ["SHA256:abc"]', message: /agentKeys\[0\]: .* is not an OpenSSH public key line/ },
  ];
  for (const c of cases) {
    const err = inventoryError(() => parseInventory(`nodes:\n  - name: n1\n    address: 198.18.0.1\n    ${c.value}\n`, 'nodes.yaml'));
    assert.match(err.message, c.message, c.value);
  }
});
