import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { after, afterEach, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import type { ClientChannel, ConnectConfig } from 'ssh2';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { routeFor } from '../../src/simulator/routes.js';
import { generateEd25519 } from '../../src/simulator/ssh-keys.js';
import { readAll, sha256 } from '../support/streams.js';

const { Client, utils } = ssh2;

let cluster: SimulatedCluster;
const clients: InstanceType<typeof Client>[] = [];

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 3 });
});

// A test that fails half-way must not leave connections that skew the next test's counts.
afterEach(() => {
  for (const c of clients.splice(0)) c.end();
});

after(async () => {
  await cluster.stop();
});

/** Every test awaits network events; a broken simulator must fail it, not hang the run. */
const T = { timeout: 5000 };

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function spec(name: string): NodeSpec {
  const found = cluster.nodes.find((n) => n.name === name);
  assert.ok(found, `node ${name}`);
  return found;
}

/** The host key blob known_hosts holds for a node, so each test verifies the host like a real client. */
function knownHostKey(node: NodeSpec): Buffer {
  const host = `[${node.address}]:${node.sshPort}`;
  const line = readFileSync(cluster.knownHostsFile, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${host} `));
  assert.ok(line, `known_hosts line for ${host}`);
  return Buffer.from(line.split(' ')[2] as string, 'base64');
}

/** The OpenSSH public key line of the cluster's client identity. */
function ownPublicKey(): string {
  const own = utils.parseKey(readFileSync(cluster.identityFile));
  assert.ok(!(own instanceof Error));
  return `${own.type} ${own.getPublicSSH().toString('base64')}`;
}

function connect(name: string, extra: Partial<ConnectConfig> = {}): Promise<InstanceType<typeof Client>> {
  const node = spec(name);
  const expected = knownHostKey(node);
  const client = new Client();
  clients.push(client);
  return new Promise((resolve, reject) => {
    client.once('ready', () => resolve(client));
    // 'on', not 'once': a timed-out or dropped client can report a second error after the first.
    client.on('error', reject);
    client.connect({
      host: node.address,
      port: node.sshPort,
      username: cluster.user,
      privateKey: readFileSync(cluster.identityFile),
      hostVerifier: (key: Buffer) => key.equals(expected),
      readyTimeout: 2000,
      ...extra,
    });
  });
}

function forward(client: InstanceType<typeof Client>, host: string, port: number): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    client.forwardOut('127.0.0.1', 40000, host, port, (err, channel) => (err ? reject(err) : resolve(channel)));
  });
}



/** A one-shot HTTP/1.1 request over any stream; the server closes after answering. */
async function http(stream: Duplex, method: string, path: string, body?: Buffer): Promise<{ status: number; body: string }> {
  const head = `${method} ${path} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\ncontent-length: ${body?.length ?? 0}\r\n\r\n`;
  const response = readAll(stream);
  stream.write(head);
  if (body) stream.write(body);
  const text = (await response).toString('utf8');
  const [headers = '', ...rest] = text.split('\r\n\r\n');
  return { status: Number(headers.split(' ')[1]), body: rest.join('\r\n\r\n') };
}

async function whoami(client: InstanceType<typeof Client>, host: string, port: number): Promise<Record<string, unknown>> {
  const res = await http(await forward(client, host, port), 'GET', '/whoami');
  assert.equal(res.status, 200);
  return JSON.parse(res.body) as Record<string, unknown>;
}

describe('simulated cluster', () => {
  test('describes its nodes and writes usable files', T, () => {
    assert.deepEqual(
      cluster.nodes.map((n) => [n.name, n.address, n.kubeletPort, n.podCIDRs[0], n.aliases[0]]),
      [
        ['n1', '127.0.1.1', 10250, '198.19.1.0/24', 'n1.sim.internal'],
        ['n2', '127.0.1.2', 10250, '198.19.2.0/24', 'n2.sim.internal'],
        ['n3', '127.0.1.3', 10250, '198.19.3.0/24', 'n3.sim.internal'],
      ],
    );
    assert.ok(cluster.nodes.every((n) => n.sshPort > 0));
    assert.deepEqual(cluster.podIPs.n2, ['198.19.2.7', '198.19.2.8']);
    assert.deepEqual(cluster.serviceCIDRs, ['198.19.240.0/20']);
    assert.equal(statSync(cluster.identityFile).mode & 0o777, 0o600);
    assert.ok(!(utils.parseKey(readFileSync(cluster.identityFile)) instanceof Error));
    assert.equal(readFileSync(cluster.knownHostsFile, 'utf8').trim().split('\n').length, 3);
    assert.match(readFileSync(cluster.kubeletCaFile, 'utf8'), /BEGIN CERTIFICATE/);
  });

  test('kubelet answers over TLS verified with the cluster CA, by address and by alias', T, async () => {
    const client = await connect('n1');
    const ca = readFileSync(cluster.kubeletCaFile);
    const byIp = tls.connect({ socket: await forward(client, '127.0.1.1', 10250), ca, host: '127.0.1.1' });
    assert.deepEqual(await http(byIp, 'GET', '/healthz'), { status: 200, body: 'ok' });

    const byName = tls.connect({ socket: await forward(client, 'n1.sim.internal', 10250), ca, servername: 'n1.sim.internal' });
    const res = await http(byName, 'GET', '/whoami');
    assert.deepEqual(JSON.parse(res.body), { node: 'n1', addr: 'n1.sim.internal', port: 10250 });
    client.end();
  });

  test("a node serves its own pods and node port, and refuses another node's pod with reason 2", T, async () => {
    const client = await connect('n1');
    assert.deepEqual(await whoami(client, '198.19.1.8', 8080), { node: 'n1', addr: '198.19.1.8', port: 8080 });
    assert.deepEqual(await whoami(client, '127.0.1.1', 9100), { node: 'n1', addr: '127.0.1.1', port: 9100 });

    const before = cluster.served.length;
    await assert.rejects(forward(client, '198.19.2.7', 8080), (err: Error & { reason?: number }) => err.reason === 2);
    await assert.rejects(forward(client, '127.0.1.2', 10250), (err: Error & { reason?: number }) => err.reason === 2);
    assert.equal(cluster.served.length, before, 'refused streams are not recorded as served');
    client.end();
  });

  test('the ClusterIP is served by whichever node forwards it, and recorded', T, async () => {
    for (const name of ['n1', 'n2']) {
      const client = await connect(name);
      assert.deepEqual(await whoami(client, cluster.clusterIP, 8080), { node: name, addr: cluster.clusterIP, port: 8080 });
      assert.deepEqual(cluster.served.at(-1)?.node, name);
      assert.equal(cluster.served.at(-1)?.destHost, cluster.clusterIP);
      client.end();
    }
  });

  test('echo round-trips 4 MiB with half-close, and /sha256 hashes a streamed body', T, async () => {
    const client = await connect('n3');
    const payload = randomBytes(1024 * 1024);
    const digest = sha256(payload);

    // 4 MiB, twice ssh2's 2 MiB channel window, read only after a pause: the node then still holds
    // echoed data when the echo server has ended, and that data must arrive before the channel closes.
    const big = Buffer.concat([payload, payload, payload, payload]);
    const echo = await forward(client, '198.19.3.7', 7);
    echo.end(big); // EOF only: the echo must still send everything back before ending
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(sha256(await readAll(echo)), sha256(big));

    const res = await http(await forward(client, cluster.clusterIP, 8080), 'POST', '/sha256', payload);
    assert.deepEqual(res, { status: 200, body: digest });
    client.end();
  });

  test('a key other than the authorized one is refused', T, async () => {
    const stranger = generateEd25519().private;
    await assert.rejects(connect('n1', { privateKey: stranger }), /authentication methods failed/);

    cluster.node('n1').setAuthorizedKey(null);
    try {
      await assert.rejects(connect('n1'), /authentication methods failed/);
    } finally {
      cluster.node('n1').setAuthorizedKey(ownPublicKey());
    }
  });

  test('setAuthorizedKey switches which key is accepted', T, async () => {
    const other = generateEd25519();
    cluster.node('n2').setAuthorizedKey(other.public);
    try {
      (await connect('n2', { privateKey: other.private })).end();
      await assert.rejects(connect('n2'), /authentication methods failed/);
    } finally {
      cluster.node('n2').setAuthorizedKey(ownPublicKey());
    }
    (await connect('n2')).end();
  });

  test('keepalive requests are answered, so an idle client stays connected', T, async () => {
    const client = await connect('n2', { keepaliveInterval: 30, keepaliveCountMax: 1 });
    let closed = false;
    client.once('close', () => (closed = true));
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(closed, false);
    client.end();
  });

  test('dropConnections ends the client and the connection count', T, async () => {
    const node = cluster.node('n3');
    node.dropConnections(); // start from a clean slate whatever earlier tests left
    await until(() => node.connections === 0, 'no connections');
    const client = await connect('n3');
    assert.equal(node.connections, 1);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    node.dropConnections();
    await closed;
    await until(() => node.connections === 0, 'the dropped connection to be counted out');
  });

  test('a hung handshake times the client out', T, async () => {
    cluster.node('n2').setHangHandshake(true);
    try {
      await assert.rejects(connect('n2', { readyTimeout: 200 }), /Timed out while waiting for handshake/);
    } finally {
      cluster.node('n2').setHangHandshake(false);
    }
  });

  test('a handshake delay holds the banner back, and the connection then works', T, async () => {
    const delayMs = 300;
    cluster.node('n2').setHandshakeDelay(delayMs);
    try {
      const started = performance.now();
      const client = await connect('n2');
      assert.ok(performance.now() - started >= delayMs - 5, 'no handshake before the delay is over');
      assert.deepEqual(await whoami(client, '198.19.2.7', 8080), { node: 'n2', addr: '198.19.2.7', port: 8080 });
      client.end();
    } finally {
      cluster.node('n2').setHandshakeDelay(0);
    }
  });

  test('stop() refuses connections; start() listens again with the same port and host key', T, async () => {
    const node = cluster.node('n1');
    const port = spec('n1').sshPort;
    await node.stop();
    await assert.rejects(connect('n1'), /ECONNREFUSED/);
    await node.start();
    assert.equal(spec('n1').sshPort, port);
    const client = await connect('n1'); // the hostVerifier still checks the original known_hosts key
    assert.deepEqual(await whoami(client, '198.19.1.7', 8080), { node: 'n1', addr: '198.19.1.7', port: 8080 });
    client.end();
  });
});

test('generateEd25519 never returns a key ssh2 cannot parse', T, () => {
  // ~1 in 256 raw ssh2 keys is malformed, so 1,000 draws would almost surely hit one without the retry.
  for (let i = 0; i < 1000; i++) {
    const pair = generateEd25519();
    assert.ok(!(utils.parseKey(pair.private) instanceof Error), pair.private);
    assert.ok(!(utils.parseKey(pair.public) instanceof Error), pair.public);
  }
});

describe('routeFor', () => {
  const view = { selfNames: ['127.0.1.1', 'n1', 'n1.sim.internal'], kubeletPort: 10250, podIPs: ['198.19.1.7'], clusterIP: '198.19.240.10' };

  test('routes each simulated destination to its service', T, () => {
    assert.equal(routeFor(view, 'N1.sim.internal', 10250), 'kubelet');
    assert.equal(routeFor(view, '127.0.1.1', 9100), 'node-http');
    assert.equal(routeFor(view, '198.19.240.10', 7), 'echo');
    assert.equal(routeFor(view, '198.19.1.7', 8080), 'app');
    assert.equal(routeFor(view, '198.19.2.7', 8080), undefined);
    assert.equal(routeFor(view, '198.19.1.9', 8080), undefined);
    assert.equal(routeFor(view, '198.19.240.10', 10250), undefined);
  });
});

test('stop() is idempotent and removes its temp dir', T, async () => {
  const small = await startSimulatedCluster({ nodes: 1 });
  await Promise.all([small.stop(), small.stop()]);
  await small.stop();
  assert.equal(existsSync(small.identityFile), false);
});
