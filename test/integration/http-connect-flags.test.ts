// `--connect-listen 127.0.0.1:PORT` without TLS flags: a daemon configured from flags alone serves plain HTTP
// CONNECT on loopback, and curl (`curl -p -x http://...`, as the README and the demo print it) reaches a pod and a
// kubelet of the simulated cluster through it.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { configFromFlags } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { silentLogger } from '../../src/log.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { curlOk } from '../support/curl.js';
import { freePort } from '../support/free-port.js';

const CURL = '/usr/bin/curl';
// npm test installs curl; elsewhere a missing curl skips this file, except under CI where it must fail.
const skip = !existsSync(CURL) && process.env.CI !== 'true' ? `${CURL} is missing (npm test installs it when root)` : false;

let cluster: SimulatedCluster;
let daemon: Daemon;
let proxy: string;

before(async () => {
  if (skip) return;
  cluster = await startSimulatedCluster({ nodes: 2 });
  const inventory = join(dirname(cluster.identityFile), 'nodes.yaml');
  writeFileSync(inventory, stringify({ nodes: cluster.nodes }));
  proxy = `http://127.0.0.1:${await freePort()}`;
  const config = configFromFlags({
    inventory,
    user: cluster.user,
    identity: cluster.identityFile,
    knownHosts: cluster.knownHostsFile,
    serviceCidr: cluster.serviceCIDRs,
    connectListen: proxy.slice('http://'.length),
  });
  assert.equal(config.listeners.connect?.tls, undefined, 'plain CONNECT, not mutual TLS');
  daemon = await Daemon.start(async () => config, silentLogger());
  await daemon.tunnelPool.ready({ timeoutMs: 10_000 });
});

after(async () => {
  await daemon?.shutdown(0);
  await cluster?.stop();
});

test('curl -p -x reaches a pod through its node', { skip }, async () => {
  const pod = cluster.podIPs.n1![0]!;
  const body = await curlOk(['-p', '-x', proxy, `http://${pod}:8080/whoami`]);
  assert.equal(JSON.parse(body).node, 'n1');
});

test('curl -p -x reaches a kubelet by node name, its certificate verified', { skip }, async () => {
  assert.equal(await curlOk(['-p', '-x', proxy, '--cacert', cluster.kubeletCaFile, 'https://n2:10250/healthz']), 'ok');
});
