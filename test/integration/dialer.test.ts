import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import { once } from 'node:events';
import { Agent, request as undiciRequest } from 'undici';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import { Dialer } from '../../src/dialer/dialer.js';
import { ChannelOpenError, NoRouteError } from '../../src/errors.js';
import { roundTrip, sha256 } from '../support/streams.js';

let cluster: SimulatedCluster;
let pool: TunnelPool;
let dialer: Dialer;
let ca: Buffer;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
  ca = readFileSync(cluster.kubeletCaFile);
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
});

after(async () => {
  await pool?.close();
  await cluster?.stop();
});

/** Sends `GET /whoami` over an open stream and returns the parsed answer. */
async function whoami(agent: http.Agent, url: string): Promise<{ node: string; addr: string; port: number }> {
  const client = url.startsWith('https:') ? https : http;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
    client.get(url, { agent }, resolve).on('error', reject),
  );
  assert.equal(res.statusCode, 200);
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function servedSince(mark: number) {
  return cluster.served.slice(mark).map((s) => `${s.node} ${s.destHost}:${s.destPort}`);
}

test('each kubelet is reached through its own node, over verified TLS', async () => {
  const agent = dialer.httpsAgent({ ca, keepAlive: false });
  for (const node of cluster.nodes) {
    const mark = cluster.served.length;
    const answer = await whoami(agent, `https://${node.address}:${node.kubeletPort}/whoami`);
    assert.equal(answer.node, node.name);
    assert.deepEqual(servedSince(mark), [`${node.name} ${node.address}:10250`]);
  }
  agent.destroy();
});

test('a kubelet target object and a node-name target route to that node', async () => {
  const stream = await dialer.dial({ kind: 'kubelet', node: 'n2' });
  assert.equal(stream.node, 'n2');
  assert.equal(stream.remotePort, 10250);
  stream.destroy();
  const agent = dialer.httpAgent({ keepAlive: false });
  assert.equal((await whoami(agent, 'http://n3:9100/whoami')).node, 'n3');
  assert.equal((await whoami(agent, 'http://n1.sim.internal:9100/whoami')).node, 'n1');
  agent.destroy();
});

test('a pod IP goes through the node whose pod CIDR holds it', async () => {
  const agent = dialer.httpAgent({ keepAlive: false });
  for (const node of cluster.nodes) {
    for (const podIP of cluster.podIPs[node.name] ?? []) {
      const mark = cluster.served.length;
      const answer = await whoami(agent, `http://${podIP}:8080/whoami`);
      assert.equal(answer.node, node.name);
      assert.equal(answer.addr, podIP);
      assert.deepEqual(servedSince(mark), [`${node.name} ${podIP}:8080`]);
    }
  }
  agent.destroy();
});

test('ClusterIP dials spread across READY nodes', async () => {
  const agent = dialer.httpAgent({ keepAlive: false });
  const nodes = new Set<string>();
  for (let i = 0; i < 6; i++) nodes.add((await whoami(agent, `http://${cluster.clusterIP}:8080/whoami`)).node);
  assert.deepEqual([...nodes].sort(), ['n1', 'n2', 'n3']);
  agent.destroy();
});

test('1 MiB round-trips intact through an echo stream', async () => {
  const payload = randomBytes(1024 * 1024);
  const podIP = cluster.podIPs.n2?.[0];
  const stream = await dialer.dial(`${podIP}:7`);
  const echoed = await roundTrip(stream, payload);
  assert.equal(sha256(echoed), sha256(payload));
});

test('undici fetch through the connector reaches a pod and a kubelet over TLS', async () => {
  const agent = new Agent({ connect: dialer.undiciConnector({ ca }) });
  const podIP = cluster.podIPs.n3?.[1];
  const pod = await undiciRequest(`http://${podIP}:8080/whoami`, { dispatcher: agent });
  assert.equal(((await pod.body.json()) as { node: string }).node, 'n3');
  const n1 = cluster.nodes[0]!;
  const kubelet = await undiciRequest(`https://${n1.address}:10250/healthz`, { dispatcher: agent });
  assert.equal(kubelet.statusCode, 200);
  assert.equal(await kubelet.body.text(), 'ok');
  await agent.close();
});

test('destinations outside the cluster are refused before any tunnel is used', async () => {
  const mark = cluster.served.length;
  await assert.rejects(dialer.dial('192.0.2.10:443'), (err: unknown) => {
    assert.ok(err instanceof NoRouteError);
    assert.equal(err.code, 'ERR_NO_ROUTE');
    assert.match(err.message, /no route to 192\.0\.2\.10:443/);
    return true;
  });
  await assert.rejects(dialer.dial('example.com:443'), /never through DNS/);
  assert.equal(cluster.served.length, mark);
});

test('a refused destination port fails with the SSH reason and names the node', async () => {
  const podIP = cluster.podIPs.n1?.[0];
  await assert.rejects(dialer.dial(`${podIP}:9999`), (err: unknown) => {
    assert.ok(err instanceof ChannelOpenError);
    assert.equal(err.reason, 2);
    assert.equal(err.node, 'n1');
    assert.match(err.message, /node n1 could not open a channel to 198\.19\.1\.7:9999: connect failed/);
    return true;
  });
});

test('a node whose connections drop fails its open streams promptly and reconnects', async () => {
  const stream = await dialer.dial(`${cluster.podIPs.n2?.[0]}:7`);
  const failed = once(stream, 'error');
  cluster.node('n2').dropConnections();
  const [err] = await failed;
  assert.equal((err as { code?: string }).code, 'ERR_TUNNEL_CLOSED');
  assert.match((err as Error).message, /tunnel to node n2 closed/);
  // Other nodes are untouched.
  assert.equal(pool.get('n1')?.currentState, 'READY');
  assert.equal(pool.get('n3')?.currentState, 'READY');
  await pool.ready({ timeoutMs: 10_000 });
  const again = await dialer.dial(`${cluster.podIPs.n2?.[0]}:7`);
  assert.equal(again.node, 'n2');
  again.destroy();
});


