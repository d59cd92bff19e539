// The daemon with an agent listener: node agents register, streams go through the HTTP CONNECT front end, /status,
// /readyz?verbose and /metrics show it, and a reload picks up changed agentKeys.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { configFromFlags } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { connectSsh2Agent } from '../unit/agent-harness.js';
import { AgentTestKeys, type TestKey } from '../unit/agent-test-keys.js';
import { captureLogger } from '../unit/capture-logger.js';
import { freePort } from '../support/free-port.js';
import { nextState } from '../support/next-state.js';
import { apiserverRequest, ESTABLISHED, sendConnect } from './http-connect-client.js';
import { roundTrip, sha256 } from '../support/streams.js';

let keys: AgentTestKeys;
let first: TestKey;
let second: TestKey;
let echo: net.Server;
let echoPort: number;

before(async () => {
  keys = new AgentTestKeys();
  first = keys.key('first');
  second = keys.key('second');
  echo = net.createServer({ allowHalfOpen: true }, (s) => s.on('error', () => undefined).pipe(s)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as net.AddressInfo).port;
});

after(() => {
  echo.close();
  keys.remove();
});

function writeInventory(file: string, key: TestKey): void {
  writeFileSync(file, `nodes:\n  - name: n1\n    address: 127.0.0.1\n    agentKeys: ["${key.publicLine}"]\n`);
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

test('daemon: agents register on --agent-listen; status, readiness, metrics and reload follow', async () => {
  const inventory = join(keys.dir, 'nodes.yaml');
  writeInventory(inventory, first);
  const [agentPort, adminPort] = [await freePort(), await freePort()];
  const connectSocket = join(keys.dir, 'egress.sock');
  const hostKeyFile = join(keys.dir, 'agent_host_key');
  const config = configFromFlags({
    inventory,
    tunnel: 'reverse',
    agentListen: `127.0.0.1:${agentPort}`,
    agentHostKey: hostKeyFile,
    adminListen: `127.0.0.1:${adminPort}`,
    connectSocket,
  });
  const logs = captureLogger();
  const daemon = await Daemon.start(async () => config, logs.logger);
  try {
    assert.equal(statSync(hostKeyFile).mode & 0o777, 0o600);
    const publicLine = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim();
    const listening = logs.entries.find((e) => e.message === 'agent listener ready');
    assert.equal(listening?.knownHostsLine, `[127.0.0.1]:${agentPort} ${publicLine}`);
    assert.ok(!JSON.stringify(logs.entries).includes('PRIVATE KEY'), 'no key material logged');

    const before = await get(adminPort, '/readyz?verbose');
    assert.equal(before.status, 503);
    assert.match(before.body, /^no tunnel on this replica: n1 \(reverse\)$/m);

    const ready = nextState(daemon.tunnelPool, 'n1', 'READY');
    const agent = await connectSsh2Agent(agentPort, 'n1', first);
    await ready;
    const status = JSON.parse((await get(adminPort, '/status')).body) as { tunnels: Array<{ direction: string; agent?: { remoteAddress: string } }>; nodesWithoutTunnel: unknown[] };
    assert.equal(status.tunnels[0]?.direction, 'reverse');
    assert.equal(status.tunnels[0]?.agent?.remoteAddress, '127.0.0.1');
    assert.deepEqual(status.nodesWithoutTunnel, []);

    const reply = await sendConnect(net.connect(connectSocket), apiserverRequest(`127.0.0.1:${echoPort}`));
    assert.equal(reply.head, ESTABLISHED);
    const socket = reply.socket.resume(); // sendConnect leaves it paused
    const payload = randomBytes(1024 * 1024);
    assert.equal(sha256(await roundTrip(socket, payload)), sha256(payload));

    const metrics = (await get(adminPort, '/metrics')).body;
    assert.match(metrics, /^ssh_egress_agent_registrations_total 1$/m);
    assert.match(metrics, /^ssh_egress_agent_auth_successes_total 1$/m);
    assert.match(metrics, /^ssh_egress_agent_unauthenticated_connections 0$/m);

    // Reload: the second key replaces the first in the inventory.
    writeInventory(inventory, second);
    assert.equal(await daemon.reload(), true);
    await assert.rejects(connectSsh2Agent(agentPort, 'n1', first), /authentication/i);
    const replaced = await connectSsh2Agent(agentPort, 'n1', second);
    assert.match((await get(adminPort, '/metrics')).body, /^ssh_egress_agent_auth_failures_total [1-9]/m);
    agent.close();
    replaced.close();
  } finally {
    await daemon.shutdown(0);
  }
  await assert.rejects(connectSsh2Agent(agentPort, 'n1', second), /ECONNREFUSED/, 'the agent listener is closed on shutdown');
});

// Issue 15: the agent listener's user CA file is read again on reload (rotation in place); its address needs a
// restart, which the reload line names while the running listener stays.
test('daemon reload: a rotated agent user CA file applies in place; a new agent listener address is named as needing a restart', async () => {
  const inventory = join(keys.dir, 'nodes-ca.yaml');
  writeInventory(inventory, first);
  const caFile = join(keys.dir, 'agent_user_ca.pub');
  const [oldCa, newCa] = [keys.key('ca-old'), keys.key('ca-new')];
  writeFileSync(caFile, `${oldCa.publicLine}\n`);
  const [agentPort, otherPort] = [await freePort(), await freePort()];
  const flags = {
    inventory,
    tunnel: 'reverse' as const,
    agentListen: `127.0.0.1:${agentPort}`,
    agentHostKey: join(keys.dir, 'agent_host_key_ca'),
    agentUserCa: caFile,
    connectSocket: join(keys.dir, 'egress-ca.sock'),
  };
  let config = configFromFlags(flags);
  const logs = captureLogger();
  const daemon = await Daemon.start(async () => config, logs.logger);
  const reloaded = (): Record<string, unknown> => logs.entries.filter((e) => e.message === 'config reloaded').at(-1)!;
  try {
    writeFileSync(caFile, `${newCa.publicLine}\n`);
    assert.equal(await daemon.reload(), true);
    assert.deepEqual(reloaded().reread, ['listeners.agents.userCAFile (CA keys)']);
    assert.deepEqual(reloaded().needsRestart, []);

    config = configFromFlags({ ...flags, agentListen: `127.0.0.1:${otherPort}` });
    assert.equal(await daemon.reload(), true);
    assert.deepEqual(reloaded().needsRestart, ['listeners.agents']);
    const ready = nextState(daemon.tunnelPool, 'n1', 'READY');
    const agent = await connectSsh2Agent(agentPort, 'n1', first);
    await ready;
    agent.close();
    await assert.rejects(connectSsh2Agent(otherPort, 'n1', first), /ECONNREFUSED/, 'the running listener stays where it was');
    assert.equal(await daemon.reload(), true);
    assert.deepEqual(reloaded().needsRestart, ['listeners.agents'], 'still named at the next reload: it is still not in force');
  } finally {
    await daemon.shutdown(0);
  }
});
