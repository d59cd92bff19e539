// `check` against 200 in-process fake nodes, some faulted: the engine's per-node results (the failed step,
// its plain-words reason, the skipped rest) and its wall time, then the CLI itself on a few of them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { checkNodes, prepareCheck, type CheckStepName, type NodeCheckResult } from '../../src/check/index.js';
import { createClusterCa } from '../../src/simulator/cluster-pki.js';
import { fingerprintOf as fingerprintOfBlob } from '../../src/hostkeys/fingerprint.js';
import { startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODES = 200;
const HANDSHAKE_TIMEOUT_MS = 2000;

/** Node index -> the fault it gets; every other node is healthy. */
const FAULTS = {
  stopped: ['n3', 'n50', 'n150'],
  authRefused: ['n7', 'n77'],
  hang: ['n11', 'n111'],
  unhealthyKubelet: ['n20'],
  wrongHostKey: ['n30'],
} as const;

let cluster: SimulatedCluster;
let knownHostsFile: string;
let inventoryFile: string;

before(async () => {
  cluster = await startSimulatedCluster({ nodes: NODES });
  for (const name of FAULTS.stopped) await cluster.node(name).stop();
  for (const name of FAULTS.authRefused) cluster.node(name).setAuthorizedKey(null);
  for (const name of FAULTS.hang) cluster.node(name).setHangHandshake(true);
  for (const name of FAULTS.unhealthyKubelet) cluster.node(name).setKubeletHealthy(false);
  // n30's line carries n31's key: the classic "the node was reinstalled" (or a man in the middle).
  const lines = readFileSync(cluster.knownHostsFile, 'utf8').trim().split('\n');
  const keyOf = (i: number): string => lines[i]!.split(' ').slice(1).join(' ');
  lines[29] = `${lines[29]!.split(' ')[0]} ${keyOf(30)}`;
  knownHostsFile = join(cluster.identityFile, '..', 'known_hosts.wrong');
  writeFileSync(knownHostsFile, `${lines.join('\n')}\n`);
  inventoryFile = join(cluster.identityFile, '..', 'inventory.yaml');
  writeFileSync(inventoryFile, YAML.stringify({ nodes: cluster.nodes }));
});

after(async () => {
  await cluster?.stop();
});

function fingerprintOf(name: string): string {
  const line = readFileSync(cluster.knownHostsFile, 'utf8').split('\n')[Number(name.slice(1)) - 1]!;
  const blob = Buffer.from(line.split(' ')[2]!, 'base64');
  return fingerprintOfBlob(blob);
}

function failedAt(r: NodeCheckResult): CheckStepName | undefined {
  return r.steps.find((s) => !s.ok && !s.skipped)?.name;
}

test(`check of ${NODES} nodes with faults: per-node results right, in a few seconds`, { timeout: 120_000 }, async () => {
  const options = await prepareCheck(
    { user: cluster.user, identityFile: cluster.identityFile, knownHostsFile },
    {
      connectTimeoutMs: 2000,
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      stepTimeoutMs: 2000,
      kubeletTls: { ca: readFileSync(cluster.kubeletCaFile) },
    },
  );
  let progressCalls = 0;
  const started = performance.now();
  const results = await checkNodes(cluster.nodes, { ...options, concurrency: 32, onProgress: () => progressCalls++ });
  const seconds = (performance.now() - started) / 1000;
  console.log(`# check of ${NODES} nodes (${Object.values(FAULTS).flat().length} faulted, hang timeout ${HANDSHAKE_TIMEOUT_MS} ms): ${seconds.toFixed(2)} s`);
  assert.ok(seconds < 60, `took ${seconds} s`);
  assert.equal(progressCalls, NODES);
  assert.deepEqual(results.map((r) => r.name), cluster.nodes.map((n) => n.name), 'inventory order');

  const byName = new Map(results.map((r) => [r.name, r]));
  const expectFailure = (name: string, step: CheckStepName, code: string, message: RegExp): void => {
    const r = byName.get(name)!;
    assert.equal(r.ok, false, name);
    assert.equal(failedAt(r), step, `${name}: ${JSON.stringify(r.steps)}`);
    const failed = r.steps.find((s) => s.name === step)!;
    assert.equal(failed.error?.code, code, name);
    assert.match(failed.error!.message, message, name);
    const after = r.steps.slice(r.steps.indexOf(failed) + 1);
    assert.ok(after.every((s) => s.skipped && !s.ok && s.ms === null && s.error === null), `${name}: later steps skipped`);
    const before = r.steps.slice(0, r.steps.indexOf(failed));
    assert.ok(before.every((s) => s.ok && typeof s.ms === 'number'), `${name}: earlier steps passed`);
  };
  for (const name of FAULTS.stopped) {
    const node = cluster.nodes.find((n) => n.name === name)!;
    expectFailure(name, 'tcp', 'ERR_CONNECT', new RegExp(`^connection refused \\(${node.address.replace(/\./g, '\\.')}:${node.sshPort}\\)$`));
  }
  for (const name of FAULTS.authRefused) expectFailure(name, 'auth', 'ERR_AUTH', /^authentication refused for user egress$/);
  for (const name of FAULTS.hang) {
    expectFailure(name, 'handshake', 'ERR_HANDSHAKE', new RegExp(`^timed out after ${HANDSHAKE_TIMEOUT_MS} ms \\(SSH handshake with `));
    assert.ok(byName.get(name)!.ms >= HANDSHAKE_TIMEOUT_MS - 50);
  }
  for (const name of FAULTS.unhealthyKubelet) {
    expectFailure(name, 'kubelet', 'ERR_KUBELET_STATUS', /^kubelet answered HTTP 500 to GET \/healthz$/);
    assert.equal(byName.get(name)!.kubelet?.status, 500);
  }
  for (const name of FAULTS.wrongHostKey) {
    expectFailure(name, 'handshake', 'ERR_HOST_KEY_MISMATCH', new RegExp(`^host key mismatch: expected ${escape(fingerprintOf('n31'))}, got ${escape(fingerprintOf(name))}$`));
    assert.equal(byName.get(name)!.hostKeyFingerprint, fingerprintOf(name), 'the refused key is reported');
  }

  const faulted = new Set<string>(Object.values(FAULTS).flat());
  const healthy = results.filter((r) => !faulted.has(r.name));
  assert.equal(healthy.length, NODES - faulted.size);
  for (const r of healthy) {
    assert.ok(r.ok, `${r.name}: ${JSON.stringify(r.steps)}`);
    assert.ok(r.steps.every((s) => s.ok && !s.skipped && s.error === null && typeof s.ms === 'number'));
    assert.equal(r.hostKeyFingerprint, fingerprintOf(r.name));
    assert.equal(r.kubelet?.status, 200);
    assert.equal(r.kubelet?.verified, true);
    assert.equal(r.kubelet?.certificate?.subject, `CN=kubelet-${r.name}`);
    assert.ok(r.kubelet!.certificate!.sans.includes(`IP:${r.address}`));
    assert.ok(r.kubelet!.certificate!.daysToExpiry >= 363 && r.kubelet!.certificate!.daysToExpiry <= 365);
  }
});

test('a kubelet certificate from another CA fails the kubelet step in plain words, with the certificate reported', async () => {
  const otherCa = await createClusterCa('some other CA');
  const options = await prepareCheck(
    { user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile },
    { connectTimeoutMs: 2000, handshakeTimeoutMs: 2000, stepTimeoutMs: 2000, kubeletTls: { ca: otherCa.certPem } },
  );
  const [r] = await checkNodes(cluster.nodes.slice(0, 1), { ...options, concurrency: 1 });
  assert.equal(failedAt(r!), 'kubelet');
  const step = r!.steps.find((s) => s.name === 'kubelet')!;
  assert.equal(step.error?.code, 'ERR_KUBELET_CERT');
  assert.match(step.error!.message, /^kubelet certificate not signed by the configured CA \(issued by CN=ssh-egress simulated cluster CA/);
  assert.equal(r!.kubelet?.certificate?.subject, 'CN=kubelet-n1');
  assert.equal(r!.kubelet?.verified, false);
});

test('the CLI: table and JSON for a few nodes, exit 1 when one fails, 2 for an unknown node', { timeout: 60_000 }, async () => {
  const common = ['--inventory', inventoryFile, '-l', cluster.user, '-i', cluster.identityFile, '--known-hosts', knownHostsFile, '--kubelet-ca', cluster.kubeletCaFile, '--timeout', '2000'];
  const json = await cli(['check', ...common, '-o', 'json', 'n1', 'n7', 'n3']);
  assert.equal(json.code, 1, json.stderr);
  const parsed = JSON.parse(json.stdout) as NodeCheckResult[];
  assert.deepEqual(parsed.map((r) => [r.name, r.ok]), [['n1', true], ['n3', false], ['n7', false]], 'inventory order');
  assert.deepEqual(Object.keys(parsed[0]!).sort(), ['address', 'hostKeyFingerprint', 'kubelet', 'ms', 'name', 'ok', 'sshPort', 'steps']);
  assert.deepEqual(parsed[0]!.steps.map((s) => Object.keys(s).sort()), Array(5).fill(['error', 'ms', 'name', 'ok', 'skipped']));
  assert.deepEqual(Object.keys(parsed[0]!.kubelet!.certificate!).sort(), ['daysToExpiry', 'issuer', 'notAfter', 'sans', 'subject']);

  const table = await cli(['check', ...common, 'n1', 'n7'], { NO_COLOR: '' });
  assert.equal(table.code, 1, table.stderr);
  const [header, row1, row7] = table.stdout.split('\n');
  assert.match(header!, /^NODE\s+ADDRESS\s+SSH\s+HOST KEY\s+AUTH\s+KUBELET\s+CERT DAYS\s+TIME\s+ERROR$/);
  assert.match(row1!, /^n1\s+127\.0\.1\.1:\d+\s+ok\s+SHA256:\S+\s+ok\s+ok\s+36\d\s+\d+ ms$/);
  assert.match(row7!, /^n7\s+127\.0\.1\.7:\d+\s+ok\s+SHA256:\S+\s+refused\s+-\s+-\s+\d+ ms\s+authentication refused for user egress$/);
  assert.match(table.stdout, /\n1 of 2 nodes reachable; failed at auth: 1\n$/);
  assert.doesNotMatch(table.stdout, /\x1b\[/, 'no colour on a pipe');

  const unknown = await cli(['check', ...common, 'n1', 'nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^ssh-egress check: unknown node nope \(the inventory has n1, n2, /);
  assert.equal(unknown.stdout, '');
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
