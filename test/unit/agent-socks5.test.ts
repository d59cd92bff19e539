// The agent's SOCKS5 server side (serveSocks5Channel) over a plain loopback socket, and its allow policy.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAllowPolicy } from '../../src/agent/allow-policy.js';
import { serveSocks5Channel } from '../../src/agent/socks5-channel.js';
import { silentLogger } from '../../src/log.js';
import { startReverser } from './agent-harness.js';

let reverser: Awaited<ReturnType<typeof startReverser>>;
let server: net.Server;
let port: number;
let closedPort: number;

before(async () => {
  reverser = await startReverser();
  const policy = createAllowPolicy({ allow: ['127.0.0.1/32'] });
  server = net.createServer({ allowHalfOpen: true }, (socket) => serveSocks5Channel(socket, { policy, dialTimeoutMs: 5_000, logger: silentLogger(), fields: {} }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
  // A port nothing listens on: taken, then released.
  const spare = net.createServer().listen(0, '127.0.0.1');
  await once(spare, 'listening');
  closedPort = (spare.address() as net.AddressInfo).port;
  await new Promise((resolve) => spare.close(resolve));
});
after(() => {
  server.close();
  reverser.close();
});

/** Sends `bytes` and returns everything the agent answers until it closes. */
async function exchange(bytes: Buffer): Promise<Buffer> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.write(bytes);
  await once(socket, 'close');
  return Buffer.concat(chunks);
}

const GREETING = Buffer.from([5, 1, 0]);
const connectIpv4 = (a: number[], p: number, cmd = 1): Buffer => Buffer.from([5, cmd, 0, 1, ...a, p >> 8, p & 0xff]);

describe('agent SOCKS5 channel', () => {
  it('answers the greeting and a CONNECT, then carries bytes with half-close', async () => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.write(Buffer.concat([GREETING, connectIpv4([127, 0, 0, 1], reverser.port)]));
    socket.end(Buffer.from('hello')); // sent before the reply: held until the destination is connected
    await once(socket, 'end');
    const answer = Buffer.concat(chunks);
    assert.deepEqual(answer.subarray(0, 2), Buffer.from([5, 0]));
    assert.equal(answer[3], 0, 'REP after the 2-byte method selection');
    assert.equal(answer.subarray(12).toString(), 'olleh');
    socket.destroy();
  });

  it('uses the RFC 1928 reply codes for refusals', async () => {
    // Not allowed by the policy: 02.
    assert.equal((await exchange(Buffer.concat([GREETING, connectIpv4([10, 1, 2, 3], 80)])))[3], 2);
    // Nothing listening: 05.
    assert.equal((await exchange(Buffer.concat([GREETING, connectIpv4([127, 0, 0, 1], closedPort)])))[3], 5);
    // BIND: 07.
    assert.equal((await exchange(Buffer.concat([GREETING, connectIpv4([127, 0, 0, 1], 80, 2)])))[3], 7);
    // Address type 5 does not exist: 08.
    assert.equal((await exchange(Buffer.concat([GREETING, Buffer.from([5, 1, 0, 5, 0, 0])])))[3], 8);
    // A name that does not resolve: 04.
    const name = Buffer.from('does-not-exist.invalid');
    const byName = Buffer.concat([GREETING, Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([0, 80])]);
    assert.equal((await exchange(byName))[3], 4);
  });

  it('refuses a client that offers only authentication methods (0xff) and closes', async () => {
    assert.deepEqual(await exchange(Buffer.from([5, 1, 2])), Buffer.from([5, 0xff]));
  });
});

describe('agent allow policy', () => {
  const nodeAddresses = (): string[] => ['198.18.0.11', 'fd00::11'];

  it('by default allows the node\'s own addresses on any port, and the pod and service ranges', () => {
    const policy = createAllowPolicy({ podCIDRs: ['198.19.1.0/24'], serviceCIDRs: ['198.19.240.0/20'] }, nodeAddresses);
    assert.equal(policy.denial('198.18.0.11', 10250), undefined);
    assert.equal(policy.denial('fd00:0::11', 22), undefined);
    assert.equal(policy.denial('::ffff:198.18.0.11', 1), undefined);
    assert.equal(policy.denial('198.19.1.7', 8080), undefined);
    assert.equal(policy.denial('198.19.250.1', 443), undefined);
    assert.match(policy.denial('198.18.0.12', 22) ?? '', /198\.18\.0\.12 is outside this node's addresses, --pod-cidr and --service-cidr/);
    assert.match(policy.description, /this node's addresses \(198\.18\.0\.11, fd00::11\), 198\.19\.1\.0\/24, 198\.19\.240\.0\/20/);
  });

  it('--allow replaces the default entirely, with ports where given', () => {
    const policy = createAllowPolicy({ allow: ['198.19.1.0/24', '10.0.0.0/8:443,8000-8100'], podCIDRs: ['198.18.0.0/16'] }, nodeAddresses);
    assert.match(policy.denial('198.18.0.11', 10250) ?? '', /outside the --allow rules/);
    assert.equal(policy.denial('198.19.1.9', 1), undefined);
    assert.equal(policy.denial('10.2.3.4', 8050), undefined);
    assert.match(policy.denial('10.2.3.4', 80) ?? '', /port 80 is not allowed for 10\.2\.3\.4 \(allowed: 10\.0\.0\.0\/8 ports 443, 8000-8100\)/);
  });

  it('leaves loopback out of the node\'s own addresses', async () => {
    const { ownAddresses } = await import('../../src/agent/allow-policy.js');
    assert.ok(!ownAddresses().some((a) => a === '127.0.0.1' || a === '::1'));
  });
});
