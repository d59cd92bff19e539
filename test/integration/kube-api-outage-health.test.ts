// The Kubernetes API goes away under a running daemon: /readyz?verbose, /status, /metrics and
// `ssh-egress status` all say so (polled, no fixed sleeps), tunnels keep carrying streams on the last known
// nodes, readiness.maxInventoryStalenessSeconds turns the staleness into not-ready, and everything
// recovers when the API returns. The outage is a TCP relay in front of the API stand-in, closed and reopened
// on the same port (connections refused meanwhile, open watches cut).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { AdminStatus } from '../../src/frontends/admin-status.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { k8sNode } from '../fixtures/kube-objects.js';
import { freePort } from '../support/free-port.js';
import { captureLogger } from '../unit/capture-logger.js';
import { apiserverRequest, getOver, sendConnect, statusOf } from './http-connect-client.js';
import { startKubeApiStandIn, type KubeApiStandIn } from './kube-api-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let api: KubeApiStandIn;
let relay: Relay;
let cluster: SimulatedCluster;
let adminPort: number;
let configFile: string;
let daemon: Daemon | undefined;
/** /status's lastSyncAt just before the outage. */
let syncedBefore: string | undefined;
const logs = captureLogger();

/** A TCP relay to the API that can be switched off (listener closed, open connections cut) and on again. */
interface Relay {
  port: number;
  down(): Promise<void>;
  up(): Promise<void>;
}

async function startRelay(target: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    down: async () => {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
    up: async () => {
      server.listen(port, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
    },
  };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function admin(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${path}`);
  return { status: res.status, body: await res.text() };
}

const inventoryOf = async (): Promise<NonNullable<AdminStatus['inventory']>> => {
  const status = JSON.parse((await admin('/status')).body) as AdminStatus;
  assert.ok(status.inventory, '/status has an inventory object');
  return status.inventory;
};

/** One sample of a metric ("name" or "name{labels}") from /metrics, undefined when absent. */
async function metric(sample: string): Promise<number | undefined> {
  const line = (await admin('/metrics')).body.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

async function writeConfig(readiness: Record<string, unknown> = {}): Promise<void> {
  await writeFile(
    configFile,
    stringify({
      ssh: { user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile },
      healthCheck: { kind: 'ssh' },
      inventory: { kubernetes: { kubeconfig: join(dir, 'relay-kubeconfig'), sshPort: cluster.nodes[0]!.sshPort } },
      listeners: { connect: { socket: { path: join(dir, 'egress.sock') } }, admin: { listen: `127.0.0.1:${adminPort}` } },
      readiness,
    }),
  );
}

/** GET http://target/whoami through the daemon's HTTP CONNECT socket. */
async function whoamiThroughDaemon(target: string): Promise<string | undefined> {
  const socket = net.connect(join(dir, 'egress.sock'));
  try {
    const reply = await sendConnect(socket, apiserverRequest(target));
    if (statusOf(reply.head) !== 200) return undefined;
    const res = await getOver(socket, `http://${target}/whoami`);
    return (JSON.parse(res.body) as { node: string }).node;
  } finally {
    socket.destroy();
  }
}

function statusCli(): Promise<{ code: number; stdout: string }> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'status', '--admin', `127.0.0.1:${adminPort}`];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-api-outage-test-'));
  configFile = join(dir, 'ssh-egress.yaml');
  adminPort = await freePort();
  for (let attempt = 0; ; attempt++) {
    try {
      cluster = await startSimulatedCluster({ nodes: 2, sshPort: await freePort('127.0.1.1') });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  api = await startKubeApiStandIn({ dir, serviceCidrApi: false });
  for (let k = 1; k <= 2; k++) api.nodes.upsert(k8sNode({ name: `n${k}`, address: `127.0.1.${k}`, podCIDR: `198.19.${k}.0/24` }));
  relay = await startRelay(Number(new URL(api.url).port));
  // The stand-in's kubeconfig, pointed at the relay (its certificate names 127.0.0.1, so TLS still verifies).
  const kubeconfig = parse(await readFile(api.kubeconfigFile, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of kubeconfig.clusters) c.cluster.server = `https://127.0.0.1:${relay.port}`;
  await writeFile(join(dir, 'relay-kubeconfig'), stringify(kubeconfig), { mode: 0o600 });
});

after(async () => {
  await daemon?.shutdown(0);
  await relay?.down();
  await api?.close();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('while the API is up: the inventory is current in /status, /readyz?verbose and /metrics', async () => {
  await writeConfig();
  daemon = await Daemon.start(() => loadConfig(configFile), logs.logger);
  await daemon.kubernetes!.inventory.synced;
  await daemon.tunnelPool.ready({ timeoutMs: 10_000 });
  const inventory = await inventoryOf();
  assert.equal(inventory.source.kind, 'kubernetes');
  assert.deepEqual(inventory.source, { kind: 'kubernetes', server: `https://127.0.0.1:${relay.port}`, kubeconfig: join(dir, 'relay-kubeconfig') });
  assert.equal(inventory.synced, true);
  assert.equal(inventory.nodes, 2);
  assert.equal(inventory.lastError, undefined);
  assert.ok(inventory.lastSyncAt && Date.parse(inventory.lastSyncAt) <= Date.now());
  assert.match(inventory.resourceVersion ?? '', /^\d+$/);
  const readyz = await admin('/readyz?verbose');
  assert.equal(readyz.status, 200);
  assert.match(readyz.body, /^inventory: kubernetes https:\/\/127\.0\.0\.1:\d+, 2 nodes, current/m);
  assert.equal(await metric('ssh_egress_inventory_nodes'), 2);
  assert.ok((await metric('ssh_egress_inventory_last_sync_timestamp_seconds'))! > 0);
});

test('the API goes away: every place shows the outage, the tunnels keep working, a staleness limit turns not-ready', async () => {
  syncedBefore = (await inventoryOf()).lastSyncAt;
  await relay.down();

  const stale = await waitFor('/readyz?verbose to show the outage', async () => {
    const r = await admin('/readyz?verbose');
    return /STALE for \d+s: ERR_KUBE_UNREACHABLE/.test(r.body) ? r : undefined;
  });
  assert.equal(stale.status, 200, 'tunnels work on the last known nodes: still ready without a limit');
  assert.match(stale.body, /^ok: 2 of 2 tunnels READY/);

  const inventory = await inventoryOf();
  assert.equal(inventory.lastError?.code, 'ERR_KUBE_UNREACHABLE');
  assert.ok(inventory.failingSince);
  assert.equal(inventory.lastSyncAt, syncedBefore, 'no sync during the outage');
  assert.equal(inventory.nodes, 2, 'the last known nodes stand');

  await waitFor('the error counter', async () => ((await metric('ssh_egress_inventory_errors_total{reason="ERR_KUBE_UNREACHABLE"}')) ?? 0) > 0 || undefined);
  assert.equal(await metric('ssh_egress_inventory_last_sync_timestamp_seconds'), Date.parse(syncedBefore!) / 1000);

  const cli = await statusCli();
  assert.equal(cli.code, 0, 'ready');
  assert.match(cli.stdout, /^inventory: kubernetes .*, 2 nodes, STALE for \d+s: ERR_KUBE_UNREACHABLE/m);

  assert.equal(await whoamiThroughDaemon('198.19.1.7:8080'), 'n1', 'streams still open through the tunnels');
  assert.equal(await whoamiThroughDaemon('198.19.2.7:8080'), 'n2');

  // The same outage with a limit (applied by reload, the watch kept): not ready once it is exceeded.
  await writeConfig({ maxInventoryStalenessSeconds: 1 });
  assert.equal(await daemon!.reload(), true);
  const notReady = await waitFor('/readyz to turn not ready', async () => {
    const r = await admin('/readyz');
    return r.status === 503 ? r : undefined;
  });
  assert.match(notReady.body, /^not ready: inventory: kubernetes .*STALE for \d+s \(max 1s\): ERR_KUBE_UNREACHABLE/);
  const status = JSON.parse((await admin('/status')).body) as AdminStatus;
  assert.equal(status.ready.ready, false);
  assert.match(status.ready.reasons.at(-1) ?? '', /STALE for \d+s \(max 1s\)/);
  assert.equal((await statusCli()).code, 1, 'ssh-egress status: not ready');
});

test('the API returns: current again everywhere, with the same tunnels', async () => {
  const tunnels = ['n1', 'n2'].map((n) => daemon!.tunnelPool.get(n));
  await relay.up();
  const readyz = await waitFor('/readyz to recover', async () => {
    const r = await admin('/readyz?verbose');
    return r.status === 200 && /2 nodes, current/.test(r.body) ? r : undefined;
  });
  assert.match(readyz.body, /^ok: 2 of 2 tunnels READY/);
  const inventory = await inventoryOf();
  assert.equal(inventory.lastError, undefined);
  assert.equal(inventory.failingSince, undefined);
  assert.ok(Date.parse(inventory.lastSyncAt!) > Date.parse(syncedBefore!), 'synced since the outage');
  assert.ok((await metric('ssh_egress_inventory_last_sync_timestamp_seconds'))! > Date.parse(syncedBefore!) / 1000);
  assert.deepEqual(['n1', 'n2'].map((n) => daemon!.tunnelPool.get(n)), tunnels, 'no tunnel was replaced');
  // The watch delivers again.
  api.nodes.modify('n1', (n) => ((n.metadata.labels as Record<string, string>).zone = 'z'));
  await waitFor('the label', async () => (daemon!.tunnelPool.get('n1')?.spec.labels.zone === 'z' ? true : undefined));
});
