// SIGHUP to a real `ssh-egress daemon` process against real sshd nodes (issue 15): limits and log level apply
// without a reconnect, a moved listener serves at once while a stream on the old address finishes, and a node
// whose host key known_hosts no longer lists is cut off within 5 s while the other nodes keep their sessions.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { curlOk } from '../support/curl.js';
import { refused } from '../support/free-port.js';
import { echoRound, httpConnect } from '../integration/limits-helpers.js';
import { DaemonProcess } from './daemon-process.js';
import { loadTopology, nodeOf, sshdSessions } from './topology.js';

const t = loadTopology();
const configFile = join(t.dir, 'reload.yaml');
const knownHostsFile = join(t.dir, 'reload-known_hosts');
const admin = '127.0.0.1:18232';
const firstPort = 18231;
const movedPort = 18233;
let daemon: DaemonProcess;

interface Settings {
  connectPort: number;
  limits?: Record<string, number>;
  level: 'info' | 'debug';
}
let settings: Settings = { connectPort: firstPort, level: 'info' };

function writeConfig(change: Partial<Settings> = {}): void {
  settings = { ...settings, ...change };
  writeFileSync(
    configFile,
    stringify({
      ssh: { user: t.user, identityFile: t.identityFile, knownHostsFile },
      healthCheck: { caFile: t.kubeletCaFile },
      inventory: { file: t.inventoryFile },
      cluster: { serviceCIDRs: [t.serviceCIDR] },
      listeners: { connect: { listen: `127.0.0.1:${settings.connectPort}` }, admin: { listen: admin } },
      ...(settings.limits && { limits: settings.limits }),
      drain: { graceMs: 20_000 },
      log: { level: settings.level, format: 'json' },
    }),
  );
}

/** known_hosts listing every node's own key, or `impostorFor` a node listed with another key. */
function writeKnownHosts(impostorFor?: { node: string; publicKey: string }): void {
  const lines = t.nodes.map((n) => `${n.address} ${impostorFor?.node === n.name ? impostorFor.publicKey : n.hostPublicKey}`);
  writeFileSync(knownHostsFile, `${lines.join('\n')}\n`);
}

const status = async (): Promise<Array<{ node: string; state: string; lastError?: { code: string } }>> => JSON.parse((await daemon.get('/status')).body).tunnels;
const connects = (): Promise<number> => daemon.metric('ssh_egress_tunnel_connects_total');
const reloads = (): Array<Record<string, unknown>> => daemon.logEntries('config reloaded');
const echo = (node = 'n1'): string => `${nodeOf(t, node).podIPs[0]}:${t.ports.echo}`;

async function sighup(): Promise<Record<string, unknown>> {
  const seen = reloads().length;
  daemon.child.kill('SIGHUP');
  await daemon.waitUntil('the reload line', () => reloads().length > seen, 10_000);
  return reloads().at(-1)!;
}

before(async () => {
  writeKnownHosts();
  writeConfig();
  daemon = new DaemonProcess(['--config', configFile], admin);
  await daemon.waitUntil('all tunnels READY', async () => (await status()).every((s) => s.state === 'READY') && (await status()).length === t.nodes.length);
});

after(() => daemon.kill());

test('SIGHUP: limits.maxConnections and log.level apply at once, without a reconnect', async () => {
  const sessions = await sshdSessions(t);
  const connectsBefore = await connects();
  const linesBefore = daemon.stderr.length;
  writeConfig({ limits: { maxConnections: 1 }, level: 'debug' });
  const line = await sighup();
  assert.deepEqual(line.changed, ['limits.maxConnections', 'log.level']);
  assert.deepEqual(line.needsRestart, []);

  const held = await httpConnect({ port: firstPort }, echo());
  assert.equal(held.status, 200);
  const over = await httpConnect({ port: firstPort }, echo());
  assert.equal(over.status, 503, 'a second client is over the new limit of 1');
  assert.match(over.text, /limit/i);
  assert.equal(await echoRound(held.socket, 64 * 1024), 'intact');
  assert.match(daemon.stderr.slice(linesBefore), /"level":"debug"[^\n]*"message":"CONNECT established"/, 'debug lines appear');

  assert.deepEqual(await sshdSessions(t), sessions, 'the same sshd sessions: no reconnect');
  assert.equal(await connects(), connectsBefore, 'no tunnel connected again');
  writeConfig({ limits: undefined, level: 'info' });
  assert.deepEqual((await sighup()).changed, ['limits.maxConnections', 'log.level']);
});

test('SIGHUP: a moved CONNECT listener serves at once; a stream on the old address finishes, then it refuses', async () => {
  const sessions = await sshdSessions(t);
  const open = await httpConnect({ port: firstPort }, echo('n2'));
  assert.equal(open.status, 200);
  writeConfig({ connectPort: movedPort });
  assert.deepEqual((await sighup()).changed, ['listeners.connect.tcp']);

  const pod = nodeOf(t, 'n3').podIPs[0]!;
  const body = await curlOk(['-p', '-x', `http://127.0.0.1:${movedPort}`, `http://${pod}:${t.ports.podHttp}/whoami`]);
  assert.equal(JSON.parse(body).node, 'n3', 'curl through the new address');
  assert.equal(await refused(firstPort), true, 'the old address takes no new client');
  assert.equal(await echoRound(open.socket, 512 * 1024), 'intact', 'the stream opened before the move runs to its end');
  const closed = daemon.logEntries('listener closed: open streams finish');
  assert.deepEqual(closed.map((e) => e.listener), [`connect-tcp 127.0.0.1:${firstPort}`]);
  assert.equal(await refused(firstPort), true);
  assert.deepEqual(await sshdSessions(t), sessions, 'no reconnect');
});

test('SIGHUP after known_hosts lists another key for n2: n2 cut off and refused within 5 s, n1 and n3 keep their sessions', async () => {
  const others = t.nodes.filter((n) => n.name !== 'n2');
  const sessions = await sshdSessions(t, others);
  const connectsBefore = await connects();
  const n2 = nodeOf(t, 'n2');
  const impostor = nodeOf(t, 'n1');
  writeKnownHosts({ node: 'n2', publicKey: impostor.hostPublicKey });
  const started = Date.now();
  const line = await sighup();
  await daemon.waitUntil('n2 refused', async () => (await status()).find((s) => s.node === 'n2')?.lastError?.code === 'ERR_HOST_KEY_MISMATCH', 5_000);
  assert.ok(Date.now() - started < 5_000, 'within 5 s of the SIGHUP');
  assert.deepEqual(line.hostKeys, { checked: 3, disconnected: ['n2'] });

  const [cut] = daemon.logEntries('host key no longer trusted: disconnecting node');
  assert.equal(cut?.node, 'n2');
  assert.equal(cut?.presented, n2.hostKeyFingerprint, 'the key n2 presents');
  assert.deepEqual(cut?.trusted, [impostor.hostKeyFingerprint], 'the key known_hosts lists now');
  const n2Status = (await status()).find((s) => s.node === 'n2')!;
  assert.notEqual(n2Status.state, 'READY');
  const toN2 = await httpConnect({ port: movedPort }, echo('n2'));
  assert.notEqual(toN2.status, 200, 'a dial to n2 is refused');
  toN2.socket.destroy();

  for (const n of others) assert.equal((await status()).find((s) => s.node === n.name)?.state, 'READY');
  assert.deepEqual(await sshdSessions(t, others), sessions, 'n1 and n3: the very same sshd sessions');
  assert.equal(await connects(), connectsBefore, 'nothing connected again');
  const through = await httpConnect({ port: movedPort }, echo('n3'));
  assert.equal(through.status, 200, 'n3 still carries streams');
  through.socket.destroy();
});
