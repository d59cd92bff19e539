// Reverse tunnels through the pool and the dialer: node agents (ssh2 Clients answering SOCKS5 in each
// forwarded channel) dial an AgentServer attached to the pool; streams go node-wards through them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { Dialer } from '../../src/dialer/dialer.js';
import { EgressError } from '../../src/errors.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { TunnelPool } from '../../src/tunnel/pool.js';
import type { TunnelPoolOptions } from '../../src/tunnel/pool-options.js';
import { connectSsh2Agent, nextRegistration, startAgentServer, startReverser, type Listening } from '../unit/agent-harness.js';
import { AgentTestKeys, type TestKey } from '../unit/agent-test-keys.js';
import { freePort } from '../support/free-port.js';
import { nextState } from '../support/next-state.js';
import { readAll, roundTrip, sha256 } from '../support/streams.js';

let keys: AgentTestKeys;
let n1Key: TestKey;
let echo: net.Server;
let echoPort: number;

before(async () => {
  keys = new AgentTestKeys();
  n1Key = keys.key('n1-agent');
  echo = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => undefined);
    socket.pipe(socket);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(() => {
  echo.close();
  keys.remove();
});

function node(name: string, extra: Partial<NodeSpec> = {}): NodeSpec {
  return { name, address: '127.0.0.1', aliases: [], sshPort: 22, kubeletPort: 10250, podCIDRs: [], hostKeyFingerprints: [], labels: {}, agentKeys: [n1Key.publicLine], ...extra };
}

interface Setup {
  pool: TunnelPool;
  dialer: Dialer;
  agents: Listening;
  close(): Promise<void>;
}

async function setup(nodes: NodeSpec[], options: Partial<TunnelPoolOptions> = {}): Promise<Setup> {
  const pool = new TunnelPool({ user: 'egress', tunnel: 'reverse', ...options });
  const agents = await startAgentServer(keys, { lookupNode: pool.agentNode, keepaliveIntervalMs: 200, keepaliveCountMax: 2 });
  pool.attachAgentServer(agents.server);
  pool.setNodes(nodes);
  const dialer = new Dialer(pool, { dialTimeoutMs: 5000 });
  return {
    pool,
    dialer,
    agents,
    close: async () => {
      await pool.close();
      await agents.server.close();
    },
  };
}

/** Waits until n1's tunnel is parked waiting for its agent (it may be so already). */
async function waitingForAgent(pool: TunnelPool): Promise<void> {
  const parked = (): boolean => pool.status()[0]?.lastError?.code === 'ERR_NO_AGENT' && pool.status()[0]?.state === 'TRANSIENT_FAILURE';
  while (!parked()) await nextState(pool, 'n1', 'TRANSIENT_FAILURE');
}

async function assertDialFailsFast(dialer: Dialer, target: string, cause: string): Promise<void> {
  await assert.rejects(dialer.dial(target), (err: unknown) => {
    assert.ok(err instanceof EgressError);
    assert.equal(err.code, 'ERR_TUNNEL_UNAVAILABLE');
    assert.equal((err.cause as EgressError | undefined)?.code, cause, err.message);
    return true;
  });
}

test('reverse: READY only after an agent registers; streams byte-exact both ways, half-close kept', async () => {
  const s = await setup([node('n1')]);
  const reverser = await startReverser();
  try {
    await waitingForAgent(s.pool);
    const [before] = s.pool.status();
    assert.equal(before?.direction, 'reverse');
    assert.equal(before?.lastError?.code, 'ERR_NO_AGENT');
    assert.equal(before?.nextRetryAt, undefined, 'a reverse tunnel waits for its agent, not on a timer');
    assert.deepEqual(s.pool.nodesWithoutTunnel().map((n) => [n.node, n.direction, n.reason]), [
      ['n1', 'reverse', 'no agent of node n1 is connected to this replica (reverse tunnel)'],
    ]);
    await assertDialFailsFast(s.dialer, `127.0.0.1:${echoPort}`, 'ERR_NO_AGENT');

    const ready = nextState(s.pool, 'n1', 'READY');
    const agent = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    const [status] = s.pool.status();
    assert.equal(status?.direction, 'reverse');
    assert.equal(status?.agent?.remoteAddress, '127.0.0.1');
    assert.deepEqual(s.pool.nodesWithoutTunnel(), []);

    const payload = randomBytes(3 * 1024 * 1024);
    const stream = await s.dialer.dial(`127.0.0.1:${echoPort}`);
    assert.equal(sha256(await roundTrip(stream, payload)), sha256(payload));
    const halfClosed = await s.dialer.dial(`127.0.0.1:${reverser.port}`, { allowHalfOpen: true });
    assert.equal((await roundTrip(halfClosed, Buffer.from('abc'))).toString(), 'cba');
    agent.close();
  } finally {
    reverser.close();
    await s.close();
  }
});

test('reverse: the agent dropping fails open streams and new dials at once; its return brings READY back', async () => {
  const s = await setup([node('n1')]);
  try {
    const ready = nextState(s.pool, 'n1', 'READY');
    const agent = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    const open = await s.dialer.dial(`127.0.0.1:${echoPort}`);
    const openFailed = readAll(open).then(
      () => 'ended',
      (err: EgressError) => err.code,
    );
    const failed = nextState(s.pool, 'n1', 'TRANSIENT_FAILURE');
    agent.client.end();
    await failed;
    assert.equal(await openFailed, 'ERR_TUNNEL_CLOSED');
    // It looks once more (a newer registration might be there), then waits for the agent.
    await waitingForAgent(s.pool);
    await assertDialFailsFast(s.dialer, `127.0.0.1:${echoPort}`, 'ERR_NO_AGENT');

    const back = nextState(s.pool, 'n1', 'READY');
    const again = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await back;
    const payload = randomBytes(64 * 1024);
    assert.equal(sha256(await roundTrip(await s.dialer.dial(`127.0.0.1:${echoPort}`), payload)), sha256(payload));
    again.close();
  } finally {
    await s.close();
  }
});

// Issue 15: a reload that takes a key out of a node's agentKeys cuts the agent that key let in.
test('reverse: removing the agent key an agent registered with closes its connection; other key changes do not', async () => {
  const other = keys.key('n1-spare');
  const s = await setup([node('n1', { agentKeys: [n1Key.publicLine, other.publicLine] })]);
  try {
    const ready = nextState(s.pool, 'n1', 'READY');
    const agent = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    s.pool.setNodes([node('n1', { agentKeys: [n1Key.publicLine] })]);
    assert.equal(s.pool.get('n1')?.currentState, 'READY', 'a spare key removed: the agent stays');
    const cut = nextState(s.pool, 'n1', 'TRANSIENT_FAILURE');
    s.pool.setNodes([node('n1', { agentKeys: [other.publicLine] })]);
    await cut;
    await waitingForAgent(s.pool);
    await assert.rejects(connectSsh2Agent(s.agents.port, 'n1', n1Key), 'the removed key is refused from now on');
    agent.close();
  } finally {
    await s.close();
  }
});

test('reverse: a second registration replaces the first without failing new dials', async () => {
  const s = await setup([node('n1')]);
  try {
    const ready = nextState(s.pool, 'n1', 'READY');
    const first = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    const changes: string[] = [];
    s.pool.on('stateChange', (c) => changes.push(c.to));
    const firstGone = once(first.client, 'close');
    const replaced = nextRegistration(s.agents.server, 'n1');
    const second = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    const registration = await replaced;
    await firstGone;
    assert.deepEqual(changes, [], 'no state change: the tunnel stayed READY');
    assert.equal(s.pool.status()[0]?.agent?.remotePort, registration.remotePort);
    const payload = randomBytes(256 * 1024);
    const stream = await s.dialer.dial(`127.0.0.1:${echoPort}`);
    assert.equal(sha256(await roundTrip(stream, payload)), sha256(payload));
    assert.ok(second.channels.length >= 2, 'the probe and the stream went to the second agent');
    assert.equal(s.agents.server.stats.replacements, 1);
    second.close();
  } finally {
    await s.close();
  }
});

test('agents are refused for forward nodes and for nodes not in the inventory', async () => {
  const s = await setup([node('n1', { tunnel: 'forward' })], { tunnel: 'reverse', insecureIgnoreHostKeys: true, identityFile: n1Key.privateFile, lazyConnect: true });
  try {
    await assert.rejects(connectSsh2Agent(s.agents.port, 'n1', n1Key), /authentication/i);
    await assert.rejects(connectSsh2Agent(s.agents.port, 'n9', n1Key), /authentication/i);
    assert.equal(s.agents.server.stats.registrations, 0);
  } finally {
    await s.close();
  }
});

test('auto: a node whose sshd cannot be reached is carried by its agent, without waiting for the backoff', async () => {
  const sshPort = await freePort();
  const s = await setup([node('n1', { sshPort })], {
    tunnel: 'auto',
    identityFile: n1Key.privateFile,
    insecureIgnoreHostKeys: true,
    backoff: { initialDelayMs: 600_000, maxDelayMs: 600_000 },
  });
  try {
    if (s.pool.status()[0]?.state !== 'TRANSIENT_FAILURE') await nextState(s.pool, 'n1', 'TRANSIENT_FAILURE');
    assert.equal(s.pool.status()[0]?.lastError?.code, 'ERR_CONNECT');
    assert.equal(s.pool.status()[0]?.direction, 'forward', 'an auto node without a connection dials');
    const ready = nextState(s.pool, 'n1', 'READY');
    const agent = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    assert.equal(s.pool.status()[0]?.direction, 'reverse');
    const payload = randomBytes(64 * 1024);
    assert.equal(sha256(await roundTrip(await s.dialer.dial(`127.0.0.1:${echoPort}`), payload)), sha256(payload));
    agent.close();
  } finally {
    await s.close();
  }
});

test('auto: an agent registering while the dial hangs wins the race, and the dial is abandoned', async () => {
  const dialled: net.Socket[] = [];
  const blackhole = net.createServer((socket) => dialled.push(socket.on('error', () => undefined).resume()));
  blackhole.listen(0, '127.0.0.1');
  await once(blackhole, 'listening');
  const sshPort = (blackhole.address() as net.AddressInfo).port;
  const s = await setup([node('n1', { sshPort })], { tunnel: 'auto', identityFile: n1Key.privateFile, insecureIgnoreHostKeys: true, handshakeTimeoutMs: 600_000 });
  try {
    while (dialled.length === 0) await new Promise((r) => setTimeout(r, 10));
    assert.equal(s.pool.status()[0]?.state, 'CONNECTING');
    const ready = nextState(s.pool, 'n1', 'READY');
    const agent = await connectSsh2Agent(s.agents.port, 'n1', n1Key);
    await ready;
    assert.equal(s.pool.status()[0]?.direction, 'reverse');
    await once(dialled[0]!, 'close');
    agent.close();
  } finally {
    await s.close();
    blackhole.close();
  }
});
