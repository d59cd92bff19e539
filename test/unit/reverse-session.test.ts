import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ChannelOpenError, DialTimeoutError, InvalidTargetError, TunnelClosedError } from '../../src/errors.js';
import { AgentMisconfiguredError } from '../../src/ssh/agent-errors.js';
import { connectSsh2Agent, nextRegistration, sendAndCollect, startAgentServer, startReverser, type Listening } from './agent-harness.js';
import { AgentTestKeys } from './agent-test-keys.js';

const keys = new AgentTestKeys();
const agentKey = keys.key('agent');
const nodes = ['n1', 'static', 'silent', 'refusing', 'hanging', 'dropping', 'frozen', 'replaced'];
let listening: Listening;
let reverser: Awaited<ReturnType<typeof startReverser>>;

before(async () => {
  reverser = await startReverser();
  listening = await startAgentServer(keys, {
    lookupNode: (name) => (nodes.includes(name) ? { agentKeys: [agentKey.publicLine] } : undefined),
    socksTimeoutMs: 1_000,
    keepaliveIntervalMs: 100,
    keepaliveCountMax: 2,
  });
});
after(async () => {
  await listening.server.close();
  reverser.close();
  keys.remove();
});

describe('ReverseSession over an ssh2 agent', () => {
  it('carries a stream byte-exact both ways, with the reply sent after our half-close', async () => {
    const registered = nextRegistration(listening.server, 'n1');
    const agent = await connectSsh2Agent(listening.port, 'n1', agentKey);
    const { session, remoteAddress } = await registered;
    assert.equal(remoteAddress, '127.0.0.1');
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const channel = await session.openChannel('127.0.0.1', reverser.port);
    const answer = await sendAndCollect(channel.stream, payload);
    assert.ok(answer.equals(Buffer.from(payload).reverse()), 'reversed payload comes back whole');
    // A host name travels as a SOCKS5 domain name; the agent resolves it on its side.
    const named = await session.openChannel('localhost', reverser.port);
    assert.deepEqual(await sendAndCollect(named.stream, Buffer.from('abc')), Buffer.from('cba'));
    await assert.rejects(session.openChannel('x'.repeat(300), 80), InvalidTargetError);
    agent.close();
  });

  it('maps SOCKS5 refusals to ChannelOpenError with the forward path reasons', async () => {
    const registered = nextRegistration(listening.server, 'refusing');
    const agent = await connectSsh2Agent(listening.port, 'refusing', agentKey, { kind: 'refuse', reply: 0x05 });
    const { session } = await registered;
    await assert.rejects(session.openChannel('127.0.0.1', 1), (err: unknown) => {
      assert.ok(err instanceof ChannelOpenError);
      assert.equal(err.reason, 2);
      assert.match(err.message, /connect failed \(connection refused\)/);
      return true;
    });
    agent.close();
    const prohibitedRegistration = nextRegistration(listening.server, 'refusing');
    const prohibiting = await connectSsh2Agent(listening.port, 'refusing', agentKey, { kind: 'refuse', reply: 0x02 });
    const prohibited = (await prohibitedRegistration).session;
    await assert.rejects(prohibited.openChannel('10.1.2.3', 80), (err: unknown) => err instanceof ChannelOpenError && err.reason === 1);
    prohibiting.close();
  });

  it('refuses a registration that echoes SOCKS5 bytes back (a static forward) as misconfigured', async () => {
    const misconfigured = once(listening.server, 'misconfigured');
    const agent = await connectSsh2Agent(listening.port, 'static', agentKey, { kind: 'echo' });
    const [node, error] = (await misconfigured) as [string, Error];
    assert.equal(node, 'static');
    assert.ok(error instanceof AgentMisconfiguredError);
    assert.equal((error as AgentMisconfiguredError).code, 'ERR_AGENT_MISCONFIGURED');
    assert.match(error.message, /does not speak SOCKS5/);
    assert.equal(listening.server.registrations().has('static'), false);
    await once(agent.client, 'close'); // and its connection is closed
  });

  it('refuses a registration that never answers SOCKS5, after socksTimeoutMs', async () => {
    const misconfigured = once(listening.server, 'misconfigured');
    const agent = await connectSsh2Agent(listening.port, 'silent', agentKey, { kind: 'silent' });
    const [, error] = (await misconfigured) as [string, Error];
    assert.ok(error instanceof AgentMisconfiguredError);
    assert.match(error.message, /no SOCKS5 answer within 1000 ms/);
    agent.close();
  });

  it('fails a dial whose SOCKS5 reply never comes with DialTimeoutError', async () => {
    const registered = nextRegistration(listening.server, 'hanging');
    const agent = await connectSsh2Agent(listening.port, 'hanging', agentKey);
    const { session } = await registered;
    // A destination that accepts and says nothing is fine; an agent stuck before its reply is not.
    agent.channels.length = 0;
    agent.client.removeAllListeners('tcp connection');
    agent.client.on('tcp connection', (_info, accept) => void accept());
    await assert.rejects(session.openChannel('127.0.0.1', reverser.port), (err: unknown) => err instanceof DialTimeoutError && /SOCKS5 greeting/.test(err.message));
    agent.close();
  });

  it('fails pending and open channels and new dials promptly when the agent drops', async () => {
    const registered = nextRegistration(listening.server, 'dropping');
    const agent = await connectSsh2Agent(listening.port, 'dropping', agentKey);
    const { session } = await registered;
    const closedWith = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    const open = await session.openChannel('127.0.0.1', reverser.port);
    const openEnded = once(open.stream, 'close');
    open.stream.resume(); // a reader, as TunnelSocket is: ssh2 reports the close once the stream has ended
    agent.client.removeAllListeners('tcp connection');
    agent.client.on('tcp connection', (_info, accept) => void accept()); // never answers
    const pending = session.openChannel('127.0.0.1', reverser.port);
    await waitFor(() => session.openChannels === 2);
    (agent.client as unknown as { _sock: net.Socket })._sock.destroy();
    await assert.rejects(pending, TunnelClosedError);
    await openEnded;
    assert.ok((await closedWith) instanceof Error, 'the session reports an unexpected close with an error');
    await assert.rejects(session.openChannel('127.0.0.1', reverser.port), TunnelClosedError);
    assert.equal(listening.server.registrations().has('dropping'), false);
  });

  it('closes the session of an agent that stops answering keepalives, without waiting for TCP', async () => {
    const registered = nextRegistration(listening.server, 'frozen');
    const agent = await connectSsh2Agent(listening.port, 'frozen', agentKey);
    const { session } = await registered;
    const closedWith = new Promise<Error | undefined>((resolve) => session.onClose(resolve));
    // A frozen node: its socket stays open but nothing it receives is read, so no keepalive is answered.
    (agent.client as unknown as { _sock: net.Socket })._sock.pause();
    assert.match(String(await closedWith), /Keepalive timeout/);
    await assert.rejects(session.openChannel('127.0.0.1', reverser.port), TunnelClosedError);
    (agent.client as unknown as { _sock: net.Socket })._sock.destroy();
  });

  it('replaces a registration with a newer one for the same node, then closes the old connection', async () => {
    const first = nextRegistration(listening.server, 'replaced');
    const oldAgent = await connectSsh2Agent(listening.port, 'replaced', agentKey);
    const old = await first;
    const replacementsBefore = listening.server.stats.replacements;
    const unregistered: string[] = [];
    listening.server.on('unregistration', (registration) => unregistered.push(registration.node));
    const second = nextRegistration(listening.server, 'replaced');
    const oldClosed = once(oldAgent.client, 'close');
    const newAgent = await connectSsh2Agent(listening.port, 'replaced', agentKey);
    const current = await second;
    await oldClosed;
    assert.notEqual(current.session, old.session);
    assert.equal(listening.server.registrations().get('replaced'), current);
    assert.equal(listening.server.stats.replacements, replacementsBefore + 1);
    assert.deepEqual(unregistered, [], 'the replaced connection closing does not unregister the node');
    assert.deepEqual(await sendAndCollect((await current.session.openChannel('127.0.0.1', reverser.port)).stream, Buffer.from('xy')), Buffer.from('yx'));
    newAgent.close();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
