// Stock OpenSSH as the node agent: `ssh -N -R 0` is a remote dynamic forward that answers SOCKS5.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ChannelOpenError, TunnelClosedError } from '../../src/errors.js';
import { AgentMisconfiguredError } from '../../src/ssh/agent-errors.js';
import { parseTrustedUserCAs } from '../../src/ssh/agent-user-ca.js';
import { nextRegistration, sendAndCollect, spawnOpenSsh, startAgentServer, startReverser, type Listening, type OpenSshAgent } from './agent-harness.js';
import { AgentTestKeys } from './agent-test-keys.js';
import { captureLogger } from './capture-logger.js';

const keys = new AgentTestKeys();
const ca = keys.key('ca');
const untrustedCa = keys.key('untrusted-ca');
const n1Key = keys.key('n1');
const strangerKey = keys.key('stranger');
const inventory: Record<string, { agentKeys: string[] }> = { n1: { agentKeys: [n1Key.publicLine] }, n2: { agentKeys: [] }, n3: { agentKeys: [] } };
const agents: OpenSshAgent[] = [];
const log = captureLogger();
let listening: Listening;
let reverser: Awaited<ReturnType<typeof startReverser>>;
let echo: net.Server;

const DYNAMIC = ['-N', '-R', '0'];
function agent(user: string, identity: string, extra: string[] = DYNAMIC, command: string[] = []): OpenSshAgent {
  const started = spawnOpenSsh(listening, user, identity, extra, command);
  agents.push(started);
  return started;
}

before(async () => {
  reverser = await startReverser();
  echo = net.createServer((socket) => socket.pipe(socket)).listen(0, '127.0.0.1');
  await once(echo, 'listening');
  listening = await startAgentServer(keys, {
    lookupNode: (name) => inventory[name],
    userCAs: parseTrustedUserCAs(ca.publicLine),
    socksTimeoutMs: 2_000,
    logger: log.logger,
  });
});
after(async () => {
  for (const started of agents) started.kill();
  await listening.server.close();
  reverser.close();
  echo.close();
  keys.remove();
});

describe('AgentServer with OpenSSH agents', () => {
  let n1: OpenSshAgent;

  it('registers `ssh -N -R 0` and carries streams byte-exact both ways with a half-close', async () => {
    const registered = nextRegistration(listening.server, 'n1');
    n1 = agent('n1', n1Key.privateFile);
    const { session, via } = await registered;
    assert.equal(via, 'agent key');
    const payload = randomBytes(2 * 1024 * 1024 + 3);
    const answers = await Promise.all([1, 2, 3].map(async () => sendAndCollect((await session.openChannel('127.0.0.1', reverser.port)).stream, payload)));
    for (const answer of answers) assert.ok(answer.equals(Buffer.from(payload).reverse()));
  });

  it('reports a destination the node cannot connect to as ChannelOpenError "connect failed"', async () => {
    const { session } = listening.server.registrations().get('n1')!;
    await assert.rejects(session.openChannel('127.0.0.1', 1), (err: unknown) => err instanceof ChannelOpenError && err.reason === 2);
  });

  it('refuses an exec request and a direct-tcpip channel (ssh -W) from an agent, replacing nothing', async () => {
    const before = listening.server.registrations().get('n1')!;
    const refusedBefore = listening.server.stats.refusedChannels;
    const exec = agent('n1', n1Key.privateFile, [], ['true']);
    assert.notEqual(await exec.exited, 0);
    assert.match(exec.stderr(), /administratively prohibited|open failed/);
    const jump = agent('n1', n1Key.privateFile, ['-W', `127.0.0.1:${(echo.address() as net.AddressInfo).port}`]);
    assert.notEqual(await jump.exited, 0);
    assert.match(jump.stderr(), /administratively prohibited|open failed/);
    assert.equal(listening.server.stats.refusedChannels, refusedBefore + 2);
    assert.equal(listening.server.registrations().get('n1'), before);
    assert.deepEqual(await sendAndCollect((await before.session.openChannel('127.0.0.1', reverser.port)).stream, Buffer.from('ok')), Buffer.from('ko'));
  });

  it('accepts a certificate made with ssh-keygen -s ca -I n1 -n n1 -V +52w', async () => {
    const key = keys.key('n3-cert');
    keys.certify(ca, key, { id: 'n3', principals: ['n3'], validity: '+52w' });
    const registered = nextRegistration(listening.server, 'n3');
    agent('n3', key.privateFile);
    const { session, via } = await registered;
    assert.match(via, /^certificate of SHA256:\S+ id "n3" serial 0+ signed by CA SHA256:/);
    assert.deepEqual(await sendAndCollect((await session.openChannel('127.0.0.1', reverser.port)).stream, Buffer.from('123')), Buffer.from('321'));
  });

  it('accepts an RSA key certificate (offered as rsa-sha2-512-cert-v01@openssh.com)', async () => {
    const key = keys.key('n4-rsa-cert', 'rsa');
    keys.certify(ca, key, { id: 'n4', principals: ['n4'], validity: '+1d' });
    inventory.n4 = { agentKeys: [] };
    const registered = nextRegistration(listening.server, 'n4');
    agent('n4', key.privateFile);
    assert.match((await registered).via, /id "n4"/);
  });

  it('refuses unlisted keys, wrong, expired and untrusted certificates, and unknown node names', async () => {
    const otherPrincipal = keys.key('other-principal');
    keys.certify(ca, otherPrincipal, { principals: ['n1'] });
    const expired = keys.key('expired');
    keys.certify(ca, expired, { principals: ['n2'], validity: '20200101:20200201' });
    const untrusted = keys.key('untrusted');
    keys.certify(untrustedCa, untrusted, { principals: ['n2'] });
    const failuresBefore = listening.server.stats.authFailures;
    const attempts: Array<[string, string]> = [
      ['n2', strangerKey.privateFile],
      ['n2', otherPrincipal.privateFile],
      ['n2', expired.privateFile],
      ['n2', untrusted.privateFile],
      ['no-such-node', n1Key.privateFile],
    ];
    for (const [user, identity] of attempts) {
      const refused = agent(user, identity);
      assert.equal(await refused.exited, 255, `${user} with ${identity}`);
      assert.match(refused.stderr(), /Permission denied \(publickey\)/);
    }
    assert.ok(listening.server.stats.authFailures >= failuresBefore + attempts.length);
    assert.equal(listening.server.registrations().has('n2'), false);
    const reasons = log.entries.filter((e) => e.message === 'agent authentication refused').map((e) => String(e.reason));
    for (const expected of [/key SHA256:\S+ is not among the agent keys of node n2/, /node n2 is not among its principals/, /expired at 2020-02-01/, /not signed by a trusted CA/, /no node named "no-such-node"/]) {
      assert.ok(reasons.some((reason) => expected.test(reason)), `${expected} in ${reasons.join('; ')}`);
    }
    // Fingerprints only: no key material in any log entry.
    const logged = JSON.stringify(log.entries);
    for (const key of [strangerKey, otherPrincipal, expired, untrusted, n1Key]) assert.ok(!logged.includes(key.publicLine.split(' ')[1]!));
  });

  it('detects a static `-R 0:host:port` forward as misconfigured and does not use it', async () => {
    const key = keys.key('n2-static');
    inventory.n2 = { agentKeys: [key.publicLine] };
    const misconfigured = once(listening.server, 'misconfigured');
    const staticAgent = agent('n2', key.privateFile, ['-N', '-R', `0:127.0.0.1:${(echo.address() as net.AddressInfo).port}`]);
    const [node, error] = (await misconfigured) as [string, Error];
    assert.equal(node, 'n2');
    assert.ok(error instanceof AgentMisconfiguredError, String(error));
    assert.match(error.message, /does not speak SOCKS5/);
    assert.equal(listening.server.registrations().has('n2'), false);
    await staticAgent.exited; // its connection was closed
  });

  it('fails streams and new dials with TunnelClosedError when the agent is killed', async () => {
    const { session } = listening.server.registrations().get('n1')!;
    const unregistered = once(listening.server, 'unregistration');
    const open = await session.openChannel('127.0.0.1', reverser.port);
    open.stream.resume();
    const streamClosed = once(open.stream, 'close');
    n1.kill();
    await unregistered;
    await streamClosed;
    await assert.rejects(session.openChannel('127.0.0.1', reverser.port), TunnelClosedError);
  });
});
