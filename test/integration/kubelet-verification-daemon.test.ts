// The daemon and kubelet verification (issue 15): without --kubelet-ca it warns once and /status says the probes
// are unverified; with a CA that did not sign the kubelets' certificates the nodes stay connected but unhealthy,
// shown in /status with ERR_KUBELET_CERT and in /readyz, without flapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromFlags, type ConfigFlags, type EgressConfig } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import type { TunnelStatus } from '../../src/tunnel/tunnel-status.js';
import { captureLogger } from '../unit/capture-logger.js';
import { freePort } from '../support/free-port.js';

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

async function tunnelsOf(port: number): Promise<TunnelStatus[]> {
  return (JSON.parse((await get(port, '/status')).body) as { tunnels: TunnelStatus[] }).tunnels;
}

/** The daemon's config from flags, over the simulated cluster's nodes, with probes every 30 ms. */
function daemonConfig(cluster: SimulatedCluster, dir: string, adminPort: number, flags: ConfigFlags): EgressConfig {
  const config = configFromFlags({
    inventory: 'unused.yaml',
    user: cluster.user,
    identity: cluster.identityFile,
    knownHosts: cluster.knownHostsFile,
    connectSocket: join(dir, 'egress.sock'),
    adminListen: `127.0.0.1:${adminPort}`,
    ...flags,
  });
  return { ...config, inventory: { kind: 'inline', nodes: cluster.nodes }, healthCheck: { ...config.healthCheck, intervalMs: 30, failureThreshold: 2 } };
}

test('without --kubelet-ca: one startup warning naming the flag, and /status says kubeletVerified: false per node', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'egress-kubelet-'));
  const adminPort = await freePort();
  const logs = captureLogger();
  const daemon = await Daemon.start(async () => daemonConfig(cluster, dir, adminPort, {}), logs.logger);
  try {
    const warnings = logs.entries.filter((e) => /kubelet health probes are unverified/.test(e.message));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.level, 'warn');
    assert.match(warnings[0]!.message, /--kubelet-ca <file>.*healthCheck\.caFile/);
    await daemon.tunnelPool.ready({ timeoutMs: 5000 });
    const tunnels = await tunnelsOf(adminPort);
    assert.equal(tunnels.length, 2);
    for (const t of tunnels) assert.equal(t.health?.kubeletVerified, false);
  } finally {
    await daemon.shutdown(0);
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('--kubelet-ca with a CA that signed no kubelet: READY but unhealthy with ERR_KUBELET_CERT in /status and /readyz, no reconnects', async () => {
  const cluster = await startSimulatedCluster({ nodes: 2 });
  const dir = await mkdtemp(join(tmpdir(), 'egress-kubelet-'));
  const wrongCaFile = join(dir, 'wrong-ca.crt');
  await writeFile(wrongCaFile, (await createClusterCa('not the kubelets\' CA')).certPem);
  const adminPort = await freePort();
  const logs = captureLogger();
  const daemon = await Daemon.start(async () => daemonConfig(cluster, dir, adminPort, { kubeletCa: wrongCaFile }), logs.logger);
  try {
    assert.equal(logs.entries.filter((e) => /unverified/.test(e.message)).length, 0, 'no warning with a CA');
    let tunnels = await tunnelsOf(adminPort);
    while (!tunnels.every((t) => (t.health?.consecutiveFailures ?? 0) >= 6)) {
      await new Promise((r) => setTimeout(r, 20));
      tunnels = await tunnelsOf(adminPort);
    }
    for (const t of tunnels) {
      assert.equal(t.state, 'READY', `${t.node} keeps its connection`);
      assert.equal(t.attempts, 0, `${t.node} never reconnected`);
      assert.equal(t.health?.healthy, false);
      assert.equal(t.health?.lastProbeErrorCode, 'ERR_KUBELET_CERT');
      assert.equal(t.health?.kubeletVerified, true);
    }
    const readyz = await get(adminPort, '/readyz?verbose');
    assert.equal(readyz.status, 503);
    assert.match(readyz.body, /n1 READY but unhealthy: ERR_KUBELET_CERT/);
    const unhealthyLogs = logs.entries.filter((e) => /node unhealthy/.test(e.message));
    assert.equal(unhealthyLogs.length, 2, 'logged once per node, not once per probe');
    assert.ok(!logs.entries.some((e) => e.message === 'tunnel failed'), 'no tunnel dropped');
  } finally {
    await daemon.shutdown(0);
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
