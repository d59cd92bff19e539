// HA with reverse tunnels: `ssh-egress agent` (the real CLI) in a node behind NAT connects to two daemon
// replicas on two control-plane addresses at once. Both carry streams to that node; stopping one leaves the
// other serving (its open streams too), and the agent registers again when the stopped one returns.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiserverRequest, ESTABLISHED, sendConnect } from '../integration/http-connect-client.js';
import { roundTrip } from '../support/streams.js';
import { curlOk } from '../support/curl.js';
import { ipBatch } from './netns.js';
import { allowInboundConnections, dropInboundConnections } from './nat.js';
import { spawnInNode, type NodeProcess } from './node-process.js';
import { createAgentKey, daemonStatus, nodeState, replicaOptions, startReverseDaemon, statusOf, type AgentKey, type ReverseDaemon, type ReverseDaemonOptions } from './reverse-daemon.js';
import { loadTopology } from './topology.js';

const t = loadTopology();
const natted = t.nodes[t.nodes.length - 1]!;
const pod = natted.podIPs[0]!;
const dir = join(t.dir, 'reverse-ha');
const AGENT_PORT = 8032;
/** A second control-plane address on the bridge, for the second replica. */
const SECOND_CP_ADDRESS = '198.18.0.2';
let key: AgentKey;
let agent: NodeProcess;
const replicas: ReverseDaemon[] = [];

function replica(index: 0 | 1): ReverseDaemonOptions {
  const agentListen = { host: index === 0 ? t.cpAddress : SECOND_CP_ADDRESS, port: AGENT_PORT };
  return replicaOptions({ dir, name: `replica-${index + 1}`, reverseNode: natted, agentKey: key, agentListen, portBase: 18251 + index * 3 });
}

before(async () => {
  key = await createAgentKey(dir, natted.name);
  await ipBatch(t.cpNamespace, [`addr add ${SECOND_CP_ADDRESS}/16 dev br0`]);
  await dropInboundConnections(t, natted);
  replicas.push(...(await Promise.all([startReverseDaemon(t, replica(0)), startReverseDaemon(t, replica(1))])));
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, replicas.map((r) => `${r.knownHostsLine}\n`).join(''));
  agent = spawnInNode(t, natted, [
    process.execPath, '--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'agent',
    '--server', `${t.cpAddress}:${AGENT_PORT}`, '--server', `${SECOND_CP_ADDRESS}:${AGENT_PORT}`,
    '--name', natted.name, '-i', key.privateFile, '--known-hosts', knownHostsFile,
    '--pod-cidr', natted.podCIDR, '--service-cidr', t.serviceCIDR,
    '--keepalive-interval', '1000', '--keepalive-count-max', '3',
  ]);
});

after(async () => {
  agent?.kill();
  for (const r of replicas) r.daemon.kill();
  await allowInboundConnections(t, natted);
  await ipBatch(t.cpNamespace, [`addr del ${SECOND_CP_ADDRESS}/16 dev br0`]).catch(() => undefined);
});

const viaConnect = (r: ReverseDaemon): string[] => ['-p', '-x', `http://${r.options.connect}`];

async function whoamiThrough(r: ReverseDaemon): Promise<string> {
  return JSON.parse(await curlOk([...viaConnect(r), `http://${pod}:${t.ports.podHttp}/whoami`])).node;
}

test('one ssh-egress agent registers the node with both replicas: both report it READY, from the node', async () => {
  for (const r of replicas) {
    await nodeState(r.daemon, natted.name, 'READY', 30_000);
    const status = statusOf(natted.name, await daemonStatus(r.daemon));
    assert.equal(status?.direction, 'reverse');
    assert.equal(status?.agent?.remoteAddress, natted.address);
    assert.doesNotMatch((await r.daemon.get('/readyz?verbose')).body, /no tunnel on this replica/);
  }
});

test('each replica reaches the node\'s kubelet (HTTPS verified) and pod through its own connection', async () => {
  for (const r of replicas) {
    const kubelet = JSON.parse(await curlOk([...viaConnect(r), '--cacert', t.kubeletCaFile, `https://${natted.name}:${t.ports.kubelet}/whoami`]));
    assert.equal(kubelet.node, natted.name);
    assert.equal(await whoamiThrough(r), natted.name);
  }
});

test('stop one replica: the other keeps its open stream and new streams; the agent returns to a restarted one', async () => {
  const [first, second] = replicas as [ReverseDaemon, ReverseDaemon];
  const [host, port] = second.options.connect.split(':') as [string, string];
  const reply = await sendConnect(net.connect({ host, port: Number(port) }), apiserverRequest(`${pod}:${t.ports.echo}`));
  assert.equal(reply.head, ESTABLISHED);
  const secondAgent = statusOf(natted.name, await daemonStatus(second.daemon))?.agent;

  const exited = new Promise((resolve) => first.daemon.child.once('exit', resolve));
  first.daemon.child.kill('SIGTERM');
  await exited;
  assert.equal(await whoamiThrough(second), natted.name, 'a new stream through the other replica');
  assert.equal((await roundTrip(reply.socket.resume(), Buffer.from('open across the stop'))).toString(), 'open across the stop');
  assert.deepEqual(statusOf(natted.name, await daemonStatus(second.daemon))?.agent, secondAgent, 'the other replica\'s connection was untouched');

  // Same host key file: the agent's known_hosts still holds, and it reconnects on its own.
  replicas[0] = await startReverseDaemon(t, replica(0));
  await nodeState(replicas[0].daemon, natted.name, 'READY', 30_000);
  assert.equal(await whoamiThrough(replicas[0]), natted.name);
});
