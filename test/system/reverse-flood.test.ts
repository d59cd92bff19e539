// 500 unauthenticated connections at once against the real daemon's agent listener: it admits no more
// than its pre-auth bound (100 in total, 10 per source address, as docs/reverse-tunnels.md says), logs and
// counts the rest, and the node registered through it keeps carrying streams during the flood.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { apiserverRequest, ESTABLISHED, sendConnect } from '../integration/http-connect-client.js';
import { roundTrip, sha256 } from '../support/streams.js';
import { curlOk } from '../support/curl.js';
import type { DaemonProcess } from './daemon-process.js';
import { ipBatch } from './netns.js';
import { allowInboundConnections, dropInboundConnections } from './nat.js';
import { stockSshAgent, type NodeProcess } from './node-process.js';
import { preAuthFlood } from './preauth-flood.js';
import { createAgentKey, daemonStatus, nodeState, replicaOptions, startReverseDaemon, statusOf } from './reverse-daemon.js';
import { loadTopology } from './topology.js';

const t = loadTopology();
const natted = t.nodes[t.nodes.length - 1]!;
const pod = natted.podIPs[0]!;
const dir = join(t.dir, 'reverse-flood');
const AGENT_PORT = 8042;
const CONNECT = { host: '127.0.0.1', port: 18262 };
const MAX_UNAUTHENTICATED = 100; // the listener's defaults
const MAX_PER_SOURCE = 10;
/** 20 source addresses on the control plane's loopback, 25 connections each: 500 in all. */
const SOURCES = Array.from({ length: 20 }, (_, i) => `198.18.4.${i + 1}`);
const PER_SOURCE = 25;
let daemon: DaemonProcess;
let agent: NodeProcess;

before(async () => {
  const key = await createAgentKey(dir, natted.name);
  await dropInboundConnections(t, natted);
  await ipBatch(t.cpNamespace, SOURCES.map((a) => `addr add ${a}/32 dev lo`));
  let knownHostsLine: string;
  ({ daemon, knownHostsLine } = await startReverseDaemon(t, replicaOptions({ dir, name: 'replica', reverseNode: natted, agentKey: key, agentListen: { host: t.cpAddress, port: AGENT_PORT }, portBase: 18261 })));
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, `${knownHostsLine}\n`);
  agent = stockSshAgent(t, natted, { user: natted.name, server: t.cpAddress, port: AGENT_PORT, identityFile: key.privateFile, knownHostsFile });
  await nodeState(daemon, natted.name, 'READY');
});

after(async () => {
  agent?.kill();
  daemon?.kill();
  await allowInboundConnections(t, natted);
  await ipBatch(t.cpNamespace, SOURCES.map((a) => `addr del ${a}/32 dev lo`)).catch(() => undefined);
});

test('500 unauthenticated connections at once: bounded, logged, counted; the registered node keeps working', async () => {
  const metric = (name: string): Promise<number> => daemon.metric(`ssh_egress_${name}`);
  const [admittedBefore, totalLimitBefore, sourceLimitBefore, registrationsBefore] = await Promise.all(
    ['agent_connections_total', 'agent_preauth_rejected_total_limit_total', 'agent_preauth_rejected_source_limit_total', 'agent_registrations_total'].map(metric),
  ) as [number, number, number, number];
  const agentBefore = statusOf(natted.name, await daemonStatus(daemon))?.agent;

  const flood = preAuthFlood(t.cpAddress, AGENT_PORT, SOURCES, PER_SOURCE);
  try {
    // Scrape while the flood lands: the gauge of unauthenticated connections never passes the bound.
    let settled = false;
    const outcome = flood.settled.finally(() => (settled = true));
    let highest = 0;
    while (!settled) {
      highest = Math.max(highest, await metric('agent_unauthenticated_connections'));
      await Promise.race([outcome, new Promise((r) => setTimeout(r, 20))]);
    }
    const { greeted, dropped } = await outcome;
    highest = Math.max(highest, await metric('agent_unauthenticated_connections'));
    assert.equal(greeted, MAX_UNAUTHENTICATED, 'exactly the bound was taken in for a handshake');
    assert.equal(dropped, SOURCES.length * PER_SOURCE - MAX_UNAUTHENTICATED);
    assert.ok(highest <= MAX_UNAUTHENTICATED, `unauthenticated connections peaked at ${highest}`);
    assert.equal(highest, MAX_UNAUTHENTICATED, 'and they are all still waiting, holding their slots');

    assert.equal((await metric('agent_connections_total')) - admittedBefore, MAX_UNAUTHENTICATED);
    const byTotal = (await metric('agent_preauth_rejected_total_limit_total')) - totalLimitBefore;
    const bySource = (await metric('agent_preauth_rejected_source_limit_total')) - sourceLimitBefore;
    assert.equal(byTotal + bySource, dropped, `dropped: ${byTotal} for the total bound, ${bySource} for the per-source bound`);
    assert.ok(byTotal > 0 && bySource > 0, `both bounds held (${byTotal} total, ${bySource} per source of ${MAX_PER_SOURCE})`);
    const logged = daemon.logEntries('agent connection dropped before the handshake');
    assert.equal(logged.length, dropped);
    assert.deepEqual(new Set(logged.map((e) => e.why)), new Set(['total-limit', 'source-limit']));
    assert.ok(logged.every((e) => SOURCES.includes(String(e.remoteAddress))));

    // With every pre-auth slot taken, the registered node still carries streams.
    assert.equal(JSON.parse(await curlOk(['-p', '-x', `http://${CONNECT.host}:${CONNECT.port}`, `http://${pod}:${t.ports.podHttp}/whoami`])).node, natted.name);
    const reply = await sendConnect(net.connect(CONNECT), apiserverRequest(`${pod}:${t.ports.echo}`));
    assert.equal(reply.head, ESTABLISHED);
    const payload = randomBytes(1024 * 1024);
    assert.equal(sha256(await roundTrip(reply.socket.resume(), payload)), sha256(payload));
  } finally {
    flood.close();
  }
  await daemon.waitUntil('the flood\'s slots to be freed', async () => (await metric('agent_unauthenticated_connections')) === 0);
  assert.deepEqual(statusOf(natted.name, await daemonStatus(daemon))?.agent, agentBefore, 'the same registration throughout');
  assert.equal(await metric('agent_registrations_total'), registrationsBefore);
});
