// `ssh-egress agent` (NodeAgent) against real AgentServers on loopback: registration, streams, HA, reconnects.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChannelOpenError } from '../../src/errors.js';
import { ServerConnectionError } from '../../src/agent/agent-errors.js';
import { NodeAgent } from '../../src/agent/node-agent.js';
import { agentRetryPolicy } from '../../src/agent/server-connection.js';
import type { NodeAgentOptions } from '../../src/agent/agent-options.js';
import { AgentServer } from '../../src/ssh/agent-server.js';
import { nextRegistration, sendAndCollect, startAgentServer, startReverser, type Listening } from './agent-harness.js';
import { AgentTestKeys } from './agent-test-keys.js';
import { captureLogger } from './capture-logger.js';

const keys = new AgentTestKeys();
const agentKey = keys.key('agent');
const serverOptions = {
  lookupNode: (name: string) => (name === 'n1' ? { agentKeys: [agentKey.publicLine] } : undefined),
  socksTimeoutMs: 5_000,
};
let reverser: Awaited<ReturnType<typeof startReverser>>;

/** Quick retries: the tests wait for events, never for a time. */
const QUICK = { backoff: { initialDelayMs: 20, maxDelayMs: 200, permanentFailureDelayMs: 200 }, keepaliveIntervalMs: 1_000 };

function agentOptions(listenings: Listening[], extra: Partial<NodeAgentOptions> = {}): NodeAgentOptions {
  const knownHostsFile = join(keys.dir, `known_hosts-${listenings.map((l) => l.port).join('-')}`);
  writeFileSync(knownHostsFile, listenings.map((l) => `[127.0.0.1]:${l.port} ${l.hostKey.publicKeyLine}\n`).join(''));
  return {
    servers: listenings.map((l) => `127.0.0.1:${l.port}`),
    nodeName: 'n1',
    identityFile: agentKey.privateFile,
    knownHostsFile,
    allow: ['127.0.0.1/32'],
    ...QUICK,
    ...extra,
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

before(async () => {
  reverser = await startReverser();
});
after(() => {
  reverser.close();
  keys.remove();
});

describe('NodeAgent', () => {
  it('registers, and carries a stream to a loopback server byte-exact with half-close both ways', async () => {
    const listening = await startAgentServer(keys, serverOptions);
    const registered = nextRegistration(listening.server, 'n1');
    const agent = await NodeAgent.start(agentOptions([listening]));
    try {
      const { session } = await registered;
      const payload = randomBytes(2 * 1024 * 1024 + 5);
      const channel = await session.openChannel('127.0.0.1', reverser.port);
      const answer = await sendAndCollect(channel.stream, payload);
      assert.ok(answer.equals(Buffer.from(payload).reverse()), 'the reversed payload comes back whole, after our EOF');
      // A name is resolved on the node; only its allowed address (127.0.0.1, not ::1) is used.
      const named = await session.openChannel('localhost', reverser.port);
      assert.deepEqual(await sendAndCollect(named.stream, Buffer.from('abc')), Buffer.from('cba'));
      await waitFor(() => session.openChannels === 0); // the agent closes each channel once both sides ended
      assert.equal(agent.connections()[0]?.state, 'registered');
    } finally {
      await agent.stop();
      await listening.server.close();
    }
  });

  it('registers with two servers at once; stopping one leaves the other working', async () => {
    const first = await startAgentServer(keys, serverOptions);
    const second = await startAgentServer(keys, serverOptions);
    const registrations = [nextRegistration(first.server, 'n1'), nextRegistration(second.server, 'n1')];
    const agent = await NodeAgent.start(agentOptions([first, second]));
    try {
      const [one, two] = await Promise.all(registrations);
      assert.ok(one && two);
      await first.server.close();
      await waitFor(() => agent.connections().some((c) => c.state !== 'registered'));
      const channel = await two.session.openChannel('127.0.0.1', reverser.port);
      assert.deepEqual(await sendAndCollect(channel.stream, Buffer.from('still here')), Buffer.from('ereh llits'));
    } finally {
      await agent.stop();
      await second.server.close();
    }
  });

  it('reconnects after its server restarts', async () => {
    const listening = await startAgentServer(keys, serverOptions);
    const agent = await NodeAgent.start(agentOptions([listening]));
    let restarted: AgentServer | undefined;
    try {
      await nextRegistration(listening.server, 'n1');
      await listening.server.close();
      restarted = new AgentServer({ ...serverOptions, hostKey: listening.hostKey.privateKey });
      const again = nextRegistration(restarted, 'n1');
      await restarted.listen(listening.port, '127.0.0.1');
      const { session } = await again;
      const channel = await session.openChannel('127.0.0.1', reverser.port);
      assert.deepEqual(await sendAndCollect(channel.stream, Buffer.from('xy')), Buffer.from('yx'));
    } finally {
      await agent.stop();
      await restarted?.close();
    }
  });

  it('refuses a server whose host key is not the one known_hosts has, naming the fingerprint and the file', async () => {
    const listening = await startAgentServer(keys, serverOptions);
    const impostor = await startAgentServer(keys, serverOptions);
    const options = agentOptions([listening]);
    // known_hosts trusts `listening`'s key at the impostor's port: a mismatch.
    writeFileSync(options.knownHostsFile, `[127.0.0.1]:${impostor.port} ${listening.hostKey.publicKeyLine}\n`);
    const { logger, entries } = captureLogger();
    const agent = await NodeAgent.start({ ...options, servers: [`127.0.0.1:${impostor.port}`], logger });
    try {
      await waitFor(() => entries.some((e) => e.level === 'error'));
      const refusal = entries.find((e) => e.level === 'error');
      assert.match(String(refusal?.error), new RegExp(`host key ${impostor.hostKey.fingerprint.replace(/[+/]/g, '\\$&')} does not match ${options.knownHostsFile}`));
      assert.equal(impostor.server.registrations().size, 0);
      // No line at all for the server: unknown, with the `[host]:port` form to add.
      writeFileSync(options.knownHostsFile, `[127.0.0.1]:1 ${listening.hostKey.publicKeyLine}\n`);
      entries.length = 0;
      await waitFor(() => entries.some((e) => e.level === 'error'));
      assert.match(String(entries.find((e) => e.level === 'error')?.error), new RegExp(`is not trusted: ${options.knownHostsFile} has no line for \\[127\\.0\\.0\\.1\\]:${impostor.port}`));
      assert.equal(impostor.server.stats.registrations, 0);
    } finally {
      await agent.stop();
      await listening.server.close();
      await impostor.server.close();
    }
  });

  it('refuses a destination outside its allow set with SOCKS5 reply 02 (ChannelOpenError, prohibited)', async () => {
    const listening = await startAgentServer(keys, serverOptions);
    const registered = nextRegistration(listening.server, 'n1');
    const { logger, entries } = captureLogger();
    const agent = await NodeAgent.start(agentOptions([listening], { allow: ['127.0.0.1/32:1-1023'], logger }));
    try {
      const { session } = await registered;
      await assert.rejects(session.openChannel('127.0.0.1', reverser.port), (err: unknown) => {
        assert.ok(err instanceof ChannelOpenError);
        assert.equal(err.reason, 1);
        assert.match(err.message, /connection not allowed by ruleset/);
        return true;
      });
      assert.ok(entries.some((e) => e.message === 'connect refused' && /port \d+ is not allowed for 127\.0\.0\.1/.test(String(e.reason))));
    } finally {
      await agent.stop();
      await listening.server.close();
    }
  });

  it('lets --allow replace the default (node addresses, pod and service CIDRs) entirely', async () => {
    const listening = await startAgentServer(keys, serverOptions);
    const registered = nextRegistration(listening.server, 'n1');
    const agent = await NodeAgent.start(agentOptions([listening], { allow: ['198.18.0.0/15'], podCIDRs: ['127.0.0.0/8'] }));
    try {
      const { session } = await registered;
      await assert.rejects(session.openChannel('127.0.0.1', reverser.port), (err: unknown) => err instanceof ChannelOpenError && err.reason === 1);
    } finally {
      await agent.stop();
      await listening.server.close();
    }
    // Without --allow, the pod CIDR admits it.
    const again = await startAgentServer(keys, serverOptions);
    const registeredAgain = nextRegistration(again.server, 'n1');
    const { allow: _dropped, ...withoutAllow } = agentOptions([again], { podCIDRs: ['127.0.0.0/8'] });
    const byDefault = await NodeAgent.start(withoutAllow);
    try {
      const { session } = await registeredAgain;
      const channel = await session.openChannel('127.0.0.1', reverser.port);
      assert.deepEqual(await sendAndCollect(channel.stream, Buffer.from('ok')), Buffer.from('ko'));
    } finally {
      await byDefault.stop();
      await again.server.close();
    }
  });

  it('waits the long delay after a failure only a change fixes, and backs off with jitter otherwise', () => {
    const retry = agentRetryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: 0, permanentFailureDelayMs: 60_000 });
    assert.equal(retry(1, new ServerConnectionError('ERR_HOST_KEY_UNKNOWN', 'cp:8022', 'x')), 60_000);
    assert.equal(retry(1, new ServerConnectionError('ERR_AUTH', 'cp:8022', 'x')), 60_000);
    assert.equal(retry(1, new ServerConnectionError('ERR_CONNECT', 'cp:8022', 'x')), 100);
    assert.equal(retry(3, new ServerConnectionError('ERR_TUNNEL_CLOSED', 'cp:8022', 'x')), 400);
    assert.equal(retry(30, new ServerConnectionError('ERR_CONNECT', 'cp:8022', 'x')), 1_000);
  });
});
