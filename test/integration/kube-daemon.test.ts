// The daemon and the CLI with `inventory.kubernetes`: the daemon watches the API stand-in and keeps the
// watch across reloads that do not change it; discovered service CIDRs route ClusterIPs; `dial` lists once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { k8sNode, k8sServiceCidr } from '../fixtures/kube-objects.js';
import { freePort } from '../support/free-port.js';
import { captureLogger } from '../unit/capture-logger.js';
import { apiserverRequest, getOver, sendConnect, statusOf } from './http-connect-client.js';
import { startKubeApiStandIn, type KubeApiStandIn } from './kube-api-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;
let api: KubeApiStandIn;
let cluster: SimulatedCluster;
let sshPort: number;
let configFile: string;
let daemon: Daemon | undefined;
const logs = captureLogger();

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function writeConfig(inventory: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFile(
    configFile,
    stringify({
      ssh: { user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile },
      healthCheck: { kind: 'ssh' },
      inventory,
      listeners: { connect: { socket: { path: join(dir, 'egress.sock') } } },
      ...extra,
    }),
  );
}

const kubeInventory = (extra: Record<string, unknown> = {}) => ({ kubernetes: { kubeconfig: api.kubeconfigFile, sshPort, ...extra } });
const names = (): string[] => daemon!.tunnelPool.nodes().map((n) => n.name).sort();

/** GET http://target/whoami through the daemon's HTTP CONNECT socket. */
async function whoamiThroughDaemon(target: string): Promise<{ status: number; node?: string }> {
  const socket = net.connect(join(dir, 'egress.sock'));
  try {
    const reply = await sendConnect(socket, apiserverRequest(target));
    if (statusOf(reply.head) !== 200) return { status: statusOf(reply.head) };
    const res = await getOver(socket, `http://${target}/whoami`);
    return { status: res.status, node: (JSON.parse(res.body) as { node: string }).node };
  } finally {
    socket.destroy();
  }
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-daemon-test-'));
  configFile = join(dir, 'ssh-egress.yaml');
  for (let attempt = 0; ; attempt++) {
    sshPort = await freePort('127.0.1.1');
    try {
      cluster = await startSimulatedCluster({ nodes: 3, sshPort });
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
  api = await startKubeApiStandIn({ dir });
  for (let k = 1; k <= 3; k++) {
    api.nodes.upsert(k8sNode({ name: `n${k}`, address: `127.0.1.${k}`, podCIDR: `198.19.${k}.0/24`, labels: { pool: k === 3 ? 'green' : 'blue' } }));
  }
  api.serviceCIDRs.upsert(k8sServiceCidr('kubernetes', cluster.serviceCIDRs));
});

after(async () => {
  await daemon?.shutdown(0);
  await api?.close();
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('the daemon watches the API: nodes arrive, discovered service CIDRs route ClusterIPs', async () => {
  await writeConfig(kubeInventory()); // no cluster.serviceCIDRs: the ServiceCIDR object supplies them
  daemon = await Daemon.start(() => loadConfig(configFile), logs.logger);
  assert.ok(daemon.kubernetes);
  await daemon.kubernetes.inventory.synced;
  assert.deepEqual(names(), ['n1', 'n2', 'n3']);
  await daemon.tunnelPool.ready({ timeoutMs: 10_000 });
  const pod = await whoamiThroughDaemon('198.19.2.7:8080');
  assert.deepEqual(pod, { status: 200, node: 'n2' });
  await waitFor('service CIDR discovery', () => daemon?.kubernetes?.status().serviceCIDRs?.length === 1);
  const service = await whoamiThroughDaemon(`${cluster.clusterIP}:8080`);
  assert.equal(service.status, 200, 'the ClusterIP routes through a node');
});

test('SIGHUP-style reload with the same settings keeps the watch (no new list) and the tunnels', async () => {
  const watch = daemon!.kubernetes;
  const lists = api.lists().length;
  const tunnels = names().map((n) => daemon!.tunnelPool.get(n));
  await writeConfig(kubeInventory(), { policy: { nodePorts: [10250, 22] } }); // something else changes
  assert.equal(await daemon!.reload(), true);
  assert.equal(daemon!.kubernetes, watch);
  assert.equal(api.lists().length, lists);
  assert.deepEqual(names().map((n) => daemon!.tunnelPool.get(n)), tunnels);
  // The watch still delivers.
  api.nodes.modify('n1', (n) => ((n.metadata.labels as Record<string, string>).zone = 'z'));
  await waitFor('the label', () => daemon!.tunnelPool.get('n1')?.spec.labels.zone === 'z');
});

test('a reload that changes the selector replaces the watch; remaining nodes keep their tunnels', async () => {
  const watch = daemon!.kubernetes;
  const n1 = daemon!.tunnelPool.get('n1');
  await writeConfig(kubeInventory({ labelSelector: 'pool=blue' }));
  assert.equal(await daemon!.reload(), true);
  assert.notEqual(daemon!.kubernetes, watch);
  await waitFor('the selected nodes', () => names().join() === 'n1,n2');
  assert.equal(api.lists().at(-1)?.query.labelSelector, 'pool=blue');
  assert.equal(daemon!.tunnelPool.get('n1'), n1);
  await waitFor('the old watch closed', () => api.nodes.watchers.size === 1);
});

test('a reload whose kubeconfig does not load is rejected whole; the running watch stays', async () => {
  const watch = daemon!.kubernetes;
  await writeConfig({ kubernetes: { kubeconfig: join(dir, 'missing-kubeconfig'), sshPort } });
  assert.equal(await daemon!.reload(), false);
  assert.equal(daemon!.kubernetes, watch);
  assert.ok(logs.entries.some((e) => e.level === 'error' && /missing-kubeconfig: no such file/.test(String(e.error))));
});

test('a reload to a file inventory stops the watch and takes the file', async () => {
  const inventoryFile = join(dir, 'nodes.yaml');
  await writeFile(inventoryFile, stringify({ nodes: [{ name: 'n3', address: '127.0.1.3', sshPort, podCIDRs: ['198.19.3.0/24'] }] }));
  await writeConfig({ file: inventoryFile });
  assert.equal(await daemon!.reload(), true);
  assert.equal(daemon!.kubernetes, undefined);
  assert.deepEqual(names(), ['n3']);
  await waitFor('no open watch', () => api.nodes.watchers.size === 0 && api.serviceCIDRs.watchers.size === 0);
  await daemon!.shutdown(0);
  daemon = undefined;
});

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function dial(args: string[], stdin: string): Promise<CliResult> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'dial', ...args];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin);
  });
}

test('ssh-egress dial lists the nodes once through the kubeconfig; --context picks the credentials', async () => {
  await writeConfig(kubeInventory());
  const ok = await dial(['--config', configFile, '198.19.1.7:8080'], 'GET /whoami HTTP/1.0\r\n\r\n');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /"node":"n1"/);
  const refused = await dial(['--config', configFile, '--context', 'unauthorized', '198.19.1.7:8080'], '');
  assert.equal(refused.code, 2, 'credentials refused: a setup error');
  assert.match(refused.stderr, /Kubernetes API https:\/\/127\.0\.0\.1:\d+: cannot list nodes: 401 Unauthorized/);
});
