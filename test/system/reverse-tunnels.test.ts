// Reverse tunnels with real namespaces: a node the control plane cannot connect to (inbound SYNs dropped)
// runs stock `ssh -N -R 0` to the real daemon's agent listener, and everything the control plane sends it
// (kubelet over verified HTTPS, pods, ClusterIP, node ports) flows back over that connection. Losing the
// agent (killed, or frozen so only keepalive can tell) fails streams promptly; refusals hold end to end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiserverRequest, ESTABLISHED, exchange, sendConnect, statusOf } from '../integration/http-connect-client.js';
import { roundTrip, sha256 } from '../support/streams.js';
import { curl, curlOk } from '../support/curl.js';
import type { DaemonProcess } from './daemon-process.js';
import { allowInboundConnections, dropInboundConnections, tcpConnects } from './nat.js';
import { nodeExec, loadTopology } from './topology.js';
import { stockSshAgent, type NodeProcess, type StockSshAgentOptions } from './node-process.js';
import { createAgentKey, daemonStatus, nodeState, replicaOptions, startReverseDaemon, statusOf as tunnelOf, type AgentKey } from './reverse-daemon.js';

const t = loadTopology();
const natted = t.nodes[t.nodes.length - 1]!;
const pod = natted.podIPs[0]!;
const dir = join(t.dir, 'reverse-tunnels');
const AGENT_PORT = 8022;
const CONNECT = '127.0.0.1:18242';
const viaConnect = ['-p', '-x', `http://${CONNECT}`];
const connectToProxy = (): net.Socket => net.connect({ host: '127.0.0.1', port: Number(CONNECT.split(':')[1]) });
const viaSocks = ['--socks5-hostname', '127.0.0.1:18243'];
/** Keepalive is 1 s x 3 on both sides: a dead agent is found in about 4 s; this is a generous multiple. */
const KEEPALIVE_BOUND_MS = 15_000;
const knownHostsFile = join(dir, 'known_hosts');
let key: AgentKey;
let daemon: DaemonProcess;
let knownHostsLine: string;
const agents: NodeProcess[] = [];
/** The stock `ssh -N -R 0` that registered the node last. */
let registered: NodeProcess;

function agent(extra: Partial<StockSshAgentOptions> = {}): NodeProcess {
  const started = stockSshAgent(t, natted, { user: natted.name, server: t.cpAddress, port: AGENT_PORT, identityFile: key.privateFile, knownHostsFile, ...extra });
  agents.push(started);
  return started;
}

function registerAgent(): void {
  registered = agent();
}

before(async () => {
  key = await createAgentKey(dir, natted.name);
  await dropInboundConnections(t, natted);
  ({ daemon, knownHostsLine } = await startReverseDaemon(t, replicaOptions({ dir, name: 'replica', reverseNode: natted, agentKey: key, agentListen: { host: t.cpAddress, port: AGENT_PORT }, portBase: 18241 })));
  writeFileSync(knownHostsFile, `${knownHostsLine}\n`);
});

after(async () => {
  for (const started of agents) started.kill();
  daemon?.kill();
  await allowInboundConnections(t, natted);
});

/** Rejects when `promise` has not settled within `ms`. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A CONNECT stream to the pod's echo port, checked with a first exchange. */
async function openEcho(): Promise<net.Socket> {
  const reply = await sendConnect(connectToProxy(), apiserverRequest(`${pod}:${t.ports.echo}`));
  assert.equal(reply.head, ESTABLISHED);
  const socket = reply.socket as net.Socket;
  socket.on('error', () => undefined); // losing the agent may end it with a reset: 'close' is what counts
  socket.resume().write('ping');
  const [echoed] = (await once(socket, 'data')) as [Buffer];
  assert.equal(echoed.toString(), 'ping');
  return socket;
}

/** A new dial to the node with no agent: refused at once with a typed error, long before the 30 s dial timeout. */
async function assertDialRefusedFast(): Promise<void> {
  const started = Date.now();
  const { text } = await exchange(connectToProxy(), apiserverRequest(`${pod}:${t.ports.echo}`));
  assert.ok([502, 503].includes(statusOf(text)), text);
  assert.match(text, /ERR_[A-Z_]+/);
  assert.ok(Date.now() - started < 5_000, `refused after ${Date.now() - started} ms`);
  const viaCurl = await curl([...viaConnect, `http://${pod}:${t.ports.podHttp}/whoami`]);
  assert.match(viaCurl.stderr, /CONNECT tunnel failed, response 50[23]/);
}

test('the control plane cannot open a connection to the node; the node reaches the control plane', async () => {
  const [ssh, kubelet, other] = await Promise.all([
    tcpConnects(natted.address, t.ports.ssh, 1_500),
    tcpConnects(natted.address, t.ports.kubelet, 1_500),
    tcpConnects(t.nodes[0]!.address, t.ports.ssh, 10_000),
  ]);
  assert.equal(ssh, false, 'sshd :22 is unreachable');
  assert.equal(kubelet, false, 'the kubelet is unreachable');
  assert.equal(other, true, 'another node is reachable');
  const scan = await nodeExec(t, natted, ['ssh-keyscan', '-p', String(AGENT_PORT), '-t', 'ed25519', t.cpAddress]);
  assert.equal(scan.code, 0, scan.stderr);
  const hostKey = knownHostsLine.split(' ').slice(0, 3).join(' ');
  assert.ok(scan.stdout.includes(hostKey), `the node sees the logged key: ${scan.stdout} vs ${hostKey}`);
});

test('stock ssh -N -R 0 from the node registers it: READY, direction reverse, from the node\'s address', async () => {
  const before = await daemon.get('/readyz?verbose');
  assert.match(before.body, new RegExp(`no tunnel on this replica: ${natted.name} \\(reverse\\)`));
  registerAgent();
  await nodeState(daemon, natted.name, 'READY');
  const status = tunnelOf(natted.name, await daemonStatus(daemon));
  assert.equal(status?.direction, 'reverse');
  assert.equal(status?.agent?.remoteAddress, natted.address);
  assert.deepEqual((await daemonStatus(daemon)).nodesWithoutTunnel, []);
});

test('curl through the daemon: the kubelet over HTTPS verified, a pod, the ClusterIP and a node port', async () => {
  for (const host of [natted.address, natted.name]) {
    assert.equal((await curlOk([...viaConnect, '--cacert', t.kubeletCaFile, `https://${host}:${t.ports.kubelet}/healthz`])).trim(), 'ok');
  }
  const kubelet = JSON.parse(await curlOk([...viaSocks, '--cacert', t.kubeletCaFile, `https://${natted.name}:${t.ports.kubelet}/whoami`]));
  assert.equal(kubelet.node, natted.name);
  assert.deepEqual(JSON.parse(await curlOk([...viaConnect, `http://${pod}:${t.ports.podHttp}/whoami`])), { node: natted.name, addr: pod, port: t.ports.podHttp });
  const nodePort = JSON.parse(await curlOk([...viaSocks, `http://${natted.address}:${t.ports.nodeHttp}/whoami`]));
  assert.equal(nodePort.node, natted.name);
  // The ClusterIP rotates over the READY tunnels: the reverse one takes its turn.
  const seen = new Set<string>();
  for (let i = 0; i < t.nodes.length * 2; i++) seen.add(JSON.parse(await curlOk([...viaConnect, `http://${t.clusterIP}:${t.ports.podHttp}/whoami`])).node);
  assert.ok(seen.has(natted.name), [...seen].join(','));
});

test('bytes are exact both ways through the reverse tunnel (sha256 of 4 MiB up, 4 MiB echoed back)', async () => {
  const upload = randomBytes(4 * 1024 * 1024);
  const file = join(dir, 'upload.bin');
  writeFileSync(file, upload);
  const hex = await curlOk([...viaConnect, '--data-binary', `@${file}`, `http://${pod}:${t.ports.podHttp}/sha256`]);
  assert.equal(hex.trim(), sha256(upload));
  const reply = await sendConnect(connectToProxy(), apiserverRequest(`${pod}:${t.ports.echo}`));
  assert.equal(reply.head, ESTABLISHED);
  const payload = randomBytes(4 * 1024 * 1024 + 7);
  assert.equal(sha256(await roundTrip(reply.socket.resume(), payload)), sha256(payload));
});

test('SIGKILL the agent: its open stream fails at once, new dials are refused with a typed error, it returns READY', async () => {
  const stream = await openEcho();
  const closed = new Promise((resolve) => stream.once('close', resolve)); // events.once would reject on the reset
  registered.kill('SIGKILL');
  await within(KEEPALIVE_BOUND_MS, 'the open stream to fail', closed);
  await daemon.waitUntil('the node to leave READY', async () => tunnelOf(natted.name, await daemonStatus(daemon))?.state !== 'READY');
  await assertDialRefusedFast();
  registerAgent();
  await nodeState(daemon, natted.name, 'READY');
  (await openEcho()).destroy();
});

test('a frozen agent (SIGSTOP: no FIN, no answers) is found by keepalive: the stream fails within the bound', async () => {
  const stream = await openEcho();
  const closed = new Promise((resolve) => stream.once('close', resolve)); // events.once would reject on the reset
  const frozen = registered;
  frozen.kill('SIGSTOP');
  try {
    await within(KEEPALIVE_BOUND_MS, 'the open stream to fail', closed);
    await assertDialRefusedFast();
  } finally {
    frozen.kill('SIGKILL');
  }
  registerAgent();
  await nodeState(daemon, natted.name, 'READY');
  (await openEcho()).destroy();
});

test('an agent\'s `ssh -L` through the daemon is refused (no way into the control plane); the registration stays', async () => {
  const before = tunnelOf(natted.name, await daemonStatus(daemon));
  const refusedBefore = await daemon.metric('ssh_egress_agent_refused_channels_total');
  // From the node, try to reach the daemon's own admin server through the agent listener.
  const local = agent({ forwards: ['-L', '127.0.0.1:18299:127.0.0.1:18241'], extra: ['-o', 'LogLevel=INFO'] });
  let attempt = { code: 7, stdout: '', stderr: '' };
  await daemon.waitUntil('ssh -L to listen', async () => {
    attempt = await nodeExec(t, natted, ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:18299/status']);
    return attempt.code !== 7; // 7: nothing listens yet
  });
  assert.notEqual(attempt.code, 0, 'nothing came back through the forward');
  assert.doesNotMatch(attempt.stdout, /tunnels/);
  await daemon.waitUntil('the refusal in the daemon\'s log', () => daemon.logEntries('agent channel refused').some((e) => e.channel === 'direct-tcpip' && e.destination === '127.0.0.1:18241'));
  await daemon.waitUntil('ssh to report the refusal', () => /open failed/.test(local.stderr()));
  assert.equal(await daemon.metric('ssh_egress_agent_refused_channels_total'), refusedBefore + 1);
  local.kill();
  const still = tunnelOf(natted.name, await daemonStatus(daemon));
  assert.equal(still?.state, 'READY');
  assert.deepEqual(still?.agent, before?.agent, 'the same agent connection');
});

test('a static `-R 0:host:port` forward is reported as misconfigured and the node is not READY', async () => {
  registered.kill('SIGKILL');
  await daemon.waitUntil('the node to leave READY', async () => tunnelOf(natted.name, await daemonStatus(daemon))?.state !== 'READY');
  const misconfiguredBefore = await daemon.metric('ssh_egress_agent_misconfigured_total');
  const staticForward = agent({ forwards: ['-R', `0:${natted.address}:${t.ports.nodeHttp}`] });
  await within(KEEPALIVE_BOUND_MS, 'the daemon to close the static forward', staticForward.exited);
  assert.equal(await daemon.metric('ssh_egress_agent_misconfigured_total'), misconfiguredBefore + 1);
  const refusal = daemon.logEntries('agent registration refused').at(-1);
  assert.equal(refusal?.node, natted.name);
  assert.match(String(refusal?.error), /SOCKS5/);
  assert.notEqual(tunnelOf(natted.name, await daemonStatus(daemon))?.state, 'READY');
  assert.equal((await daemon.get('/readyz?verbose')).body.includes(`no tunnel on this replica: ${natted.name}`), true);
});
