// The SOCKS5 front end against real OpenSSH sshd, with real curl as the client, from inside the
// control-plane namespace: kubelets over verified HTTPS, pods through their own node, the ClusterIP.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Dialer, TunnelPool, loadInventory } from '../../src/index.js';
import { Socks5Frontend } from '../../src/frontends/socks5-server.js';
import { curl, curlOk as ok } from '../support/curl.js';
import { loadTopology } from './topology.js';

const t = loadTopology();
let pool: TunnelPool;
let open: Socks5Frontend;
let guarded: Socks5Frontend;

before(async () => {
  pool = new TunnelPool({ user: t.user, identityFile: t.identityFile, knownHostsFile: t.knownHostsFile });
  pool.setNodes(await loadInventory(t.inventoryFile));
  await pool.ready({ timeoutMs: 15_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: [t.serviceCIDR] });
  open = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 });
  guarded = new Socks5Frontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { users: new Map([['alice', 'wonder land:1']]) });
  await Promise.all([open.listen(), guarded.listen()]);
});

after(async () => {
  for (const f of [open, guarded]) {
    await f?.stopAccepting();
    f?.destroyAll();
  }
  await pool?.close();
});

const hostname = (f: Socks5Frontend): string[] => ['--socks5-hostname', `127.0.0.1:${f.port}`];

test('curl --socks5-hostname reaches each kubelet over HTTPS verified against the cluster CA, by name and by IP', async () => {
  for (const node of t.nodes) {
    for (const host of [node.name, node.address]) {
      const body = await ok([...hostname(open), '--cacert', t.kubeletCaFile, `https://${host}:${t.ports.kubelet}/healthz`]);
      assert.equal(body.trim(), 'ok', host);
    }
    const who = JSON.parse(await ok([...hostname(open), '--cacert', t.kubeletCaFile, `https://${node.name}:${t.ports.kubelet}/whoami`]));
    assert.equal(who.node, node.name);
  }
});

test('curl --socks5-hostname reaches each pod through its own node, and the ClusterIP', async () => {
  for (const node of t.nodes) {
    for (const podIP of node.podIPs) {
      const who = JSON.parse(await ok([...hostname(open), `http://${podIP}:${t.ports.podHttp}/whoami`]));
      assert.deepEqual(who, { node: node.name, addr: podIP, port: t.ports.podHttp });
    }
  }
  const seen = new Set<string>();
  for (let i = 0; i < t.nodes.length * 2; i++) {
    seen.add(JSON.parse(await ok([...hostname(open), `http://${t.clusterIP}:${t.ports.podHttp}/whoami`])).node);
  }
  assert.deepEqual([...seen].sort(), t.nodes.map((n) => n.name).sort(), 'ClusterIP streams spread over the nodes');
});

test('curl --socks5 (local resolution) with an IP reaches the pod', async () => {
  const node = t.nodes[1]!;
  const podIP = node.podIPs[0]!;
  const who = JSON.parse(await ok(['--socks5', `127.0.0.1:${open.port}`, `http://${podIP}:${t.ports.podHttp}/whoami`]));
  assert.equal(who.node, node.name);
});

test('curl --proxy-user: the right password connects, a wrong one and none are refused', async () => {
  const node = t.nodes[2]!;
  const url = `https://${node.name}:${t.ports.kubelet}/healthz`;
  const body = await ok([...hostname(guarded), '--proxy-user', 'alice:wonder land:1', '--cacert', t.kubeletCaFile, url]);
  assert.equal(body.trim(), 'ok');
  const wrong = await curl([...hostname(guarded), '--proxy-user', 'alice:nope', '--cacert', t.kubeletCaFile, url]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /rejected by the SOCKS5 server \(1 1\)/);
  const none = await curl([...hostname(guarded), '--cacert', t.kubeletCaFile, url]);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /No authentication method was acceptable/);
});

test('curl gets a SOCKS5 refusal for a name that is no node and for a refused port', async () => {
  const unknown = await curl([...hostname(open), 'http://kubernetes.default.svc:443/']);
  assert.equal(unknown.code, 97, unknown.stderr);
  assert.match(unknown.stderr, /SOCKS5 connection to kubernetes\.default\.svc\. \(4\)/, 'reply 4: host unreachable');
  const refused = await curl([...hostname(open), `http://${t.nodes[0]!.name}:9999/`]);
  assert.equal(refused.code, 97, refused.stderr);
  assert.match(refused.stderr, /\(5\)/, 'reply 5: connection refused');
});
