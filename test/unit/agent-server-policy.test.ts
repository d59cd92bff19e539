// What an agent connection may do before and after authentication, with ssh2's Client and raw sockets as agents.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { connectSsh2Agent, nextRegistration, sendAndCollect, spawnOpenSsh, startAgentServer, startReverser, type Listening } from './agent-harness.js';
import { AgentTestKeys } from './agent-test-keys.js';

const keys = new AgentTestKeys();
const agentKey = keys.key('agent');
const lookupNode = (name: string) => (name.startsWith('n') ? { agentKeys: [agentKey.publicLine] } : undefined);
const servers: Listening[] = [];
const sockets: net.Socket[] = [];
let reverser: Awaited<ReturnType<typeof startReverser>>;

async function server(options: Partial<Parameters<typeof startAgentServer>[1]> = {}): Promise<Listening> {
  const started = await startAgentServer(keys, { lookupNode, ...options });
  servers.push(started);
  return started;
}

/** A TCP connection that never speaks SSH, from the given loopback source address. */
async function idleConnection(port: number, localAddress: string): Promise<net.Socket> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  socket.on('error', () => undefined);
  socket.resume(); // read (and drop) the server's banner, so its close is seen
  sockets.push(socket);
  await once(socket, 'connect');
  return socket;
}

before(async () => {
  reverser = await startReverser();
});
after(async () => {
  for (const socket of sockets) socket.destroy();
  for (const started of servers) await started.server.close();
  reverser.close();
  keys.remove();
});

describe('AgentServer: only the registration is allowed', () => {
  it('refuses direct-tcpip channels and a second tcpip-forward from an agent', async () => {
    const listening = await server();
    const registered = nextRegistration(listening.server, 'n1');
    const agent = await connectSsh2Agent(listening.port, 'n1', agentKey);
    await registered;
    const openError = await new Promise<Error & { reason?: number }>((resolve) =>
      agent.client.forwardOut('127.0.0.1', 0, '127.0.0.1', reverser.port, (err) => resolve(err as Error & { reason?: number })),
    );
    // ssh2's reject() always answers "connect failed" once a listener has seen the open; what matters is the refusal.
    assert.equal(openError?.reason, 2);
    const secondForward = await new Promise<Error | undefined>((resolve) => agent.client.forwardIn('localhost', 0, (err) => resolve(err)));
    assert.ok(secondForward instanceof Error);
    assert.equal(listening.server.stats.refusedChannels, 1);
    assert.equal(listening.server.stats.refusedRequests, 1);
    agent.close();
  });

  it('closes an authenticated connection that does not register within registrationTimeoutMs', async () => {
    const listening = await server({ registrationTimeoutMs: 100 });
    const client = new ssh2.Client();
    client.on('error', () => undefined);
    client.connect({ host: '127.0.0.1', port: listening.port, username: 'n1', privateKey: readFileSync(agentKey.privateFile) });
    await once(client, 'ready');
    await once(client, 'close');
    assert.equal(listening.server.stats.registrationTimeouts, 1);
    assert.equal(listening.server.registrations().size, 0);
  });
});

describe('AgentServer: before authentication', () => {
  it('bounds unauthenticated connections in total and per source, counts them, and leaves registered nodes alone', async () => {
    const listening = await server({ maxUnauthenticated: 8, maxUnauthenticatedPerSource: 3 });
    const registered = nextRegistration(listening.server, 'n1');
    const agent = await connectSsh2Agent(listening.port, 'n1', agentKey);
    const { session } = await registered;
    const attempts: Array<[string, number]> = [['127.0.0.2', 5], ['127.0.0.3', 5], ['127.0.0.4', 5], ['127.0.0.5', 5]];
    const dropped: Array<Promise<unknown>> = [];
    for (const [source, count] of attempts) {
      for (let i = 0; i < count; i++) {
        const socket = await idleConnection(listening.port, source);
        dropped.push(once(socket, 'close'));
      }
    }
    // 3 from each of the first two sources, 2 from the third (8 in total); every other one is dropped:
    // 2 + 2 for their source's bound, then 3 + 5 for the total bound.
    await waitFor(() => listening.server.stats.connectionsAdmitted + listening.server.stats.rejectedSourceLimit + listening.server.stats.rejectedTotalLimit === 21);
    assert.equal(listening.server.stats.connectionsAdmitted, 1 + 8);
    assert.equal(listening.server.stats.rejectedSourceLimit, 2 + 2);
    assert.equal(listening.server.stats.rejectedTotalLimit, 3 + 5);
    assert.equal(listening.server.unauthenticatedConnections, 8);
    // The registered node still carries streams, and a full listener turns a new agent away...
    assert.deepEqual(await sendAndCollect((await session.openChannel('127.0.0.1', reverser.port)).stream, Buffer.from('still')), Buffer.from('llits'));
    await assert.rejects(connectSsh2Agent(listening.port, 'n2', agentKey));
    // ...until the idle ones go.
    for (const socket of sockets) socket.destroy();
    await waitFor(() => listening.server.unauthenticatedConnections === 0);
    const second = nextRegistration(listening.server, 'n2');
    const other = await connectSsh2Agent(listening.port, 'n2', agentKey);
    await second;
    assert.equal(listening.server.registrations().get('n1')?.session, session);
    agent.close();
    other.close();
  });

  it('closes a connection that does not authenticate within authTimeoutMs', async () => {
    const listening = await server({ authTimeoutMs: 100 });
    const socket = await idleConnection(listening.port, '127.0.0.1');
    await once(socket, 'close');
    assert.equal(listening.server.stats.authTimeouts, 1);
    await waitFor(() => listening.server.unauthenticatedConnections === 0);
  });

  it('closes a connection after maxAuthAttempts refused attempts', async () => {
    const listening = await server({ maxAuthAttempts: 2 });
    const wrong = [keys.key('wrong-1'), keys.key('wrong-2'), keys.key('wrong-3')];
    const identities = wrong.slice(1).flatMap((key) => ['-i', key.privateFile]);
    const ssh = spawnOpenSsh(listening, 'n1', wrong[0]!.privateFile, ['-N', ...identities]);
    assert.equal(await ssh.exited, 255);
    assert.equal(listening.server.stats.authAttemptsExceeded, 1);
    assert.equal(listening.server.stats.authFailures, 2);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
