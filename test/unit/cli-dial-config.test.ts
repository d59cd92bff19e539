// `ssh-egress dial --config FILE`: the CLI reads the same YAML as the daemon, flags override it, and a bad
// config exits 2 with the message naming file and field. Runs against the in-process simulated cluster.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { ECHO_PORT, startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let cluster: SimulatedCluster;
let dir: string;
let configFile: string;

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI from the repository root, so relative paths in the config must resolve against its own directory. */
function dial(args: string[], stdin: Buffer = Buffer.alloc(0), env: NodeJS.ProcessEnv = process.env): Promise<Result> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'dial', ...args];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { cwd: ROOT, env, encoding: 'buffer', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString('utf8') });
    });
    child.stdin?.end(stdin);
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-dial-config-'));
  cluster = await startSimulatedCluster({ nodes: 2, dir });
  configFile = join(dir, 'egress.yaml');
  await writeFile(
    configFile,
    YAML.stringify({
      // Relative to the config file, which sits beside the simulator's key and known_hosts.
      ssh: { user: cluster.user, identityFile: basename(cluster.identityFile), knownHostsFile: basename(cluster.knownHostsFile) },
      healthCheck: { kind: 'ssh' },
      inventory: { nodes: cluster.nodes },
      cluster: { serviceCIDRs: cluster.serviceCIDRs },
      log: { level: 'warn', format: 'text' },
    }),
  );
});

after(async () => {
  await cluster?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ssh-egress dial --config', () => {
  test('pipes stdin to a pod\'s echo service through its node and back', async () => {
    const payload = randomBytes(64 * 1024);
    const podIP = cluster.podIPs.n2![0]!;
    const r = await dial(['--config', configFile, `${podIP}:${ECHO_PORT}`], payload);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(payload), 'the echo came back intact');
    assert.ok(cluster.served.some((s) => s.node === 'n2' && s.destHost === podIP && s.destPort === ECHO_PORT), 'carried by the pod\'s node');
  });

  test('flags override the file: a wrong key in the file, the right one on the command line', async () => {
    const broken = join(dir, 'broken.yaml');
    const doc = YAML.parse(await readFile(configFile, 'utf8')) as { ssh: Record<string, unknown> };
    doc.ssh.identityFile = 'no-such-key';
    await writeFile(broken, YAML.stringify(doc));
    const payload = Buffer.from('override\n');
    const r = await dial(['--config', broken, '-i', cluster.identityFile, `${cluster.clusterIP}:${ECHO_PORT}`], payload);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'override\n');
  });

  test('a bad config file exits 2 with the file and field named', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'ssh: {user: root}\ninventory: {nodes: [{name: n1, address: 127.0.1.1, podCIDRs: [10.0.0.0/33]}]}\n');
    const r = await dial(['--config', bad, '198.19.1.7:7']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, `ssh-egress dial: ${bad}: inventory.nodes[0] (node "n1").podCIDRs[0]: "10.0.0.0/33" is not a CIDR\n`);
    assert.equal(r.stdout.length, 0);
  });

  test('a missing config file, or no inventory at all, exits 2', async () => {
    const missing = await dial(['--config', join(dir, 'nope.yaml'), '198.19.1.7:7']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yaml: config file does not exist/);
    const none = await dial(['-l', 'root', '198.19.1.7:7']);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /^ssh-egress dial: --inventory: is required \(or give --config/);
  });

  test('a problem the pool finds in flag-given settings is told by its flag', async () => {
    const inventory = join(dir, 'nodes.yaml');
    await writeFile(inventory, YAML.stringify({ nodes: cluster.nodes }));
    const { SSH_AUTH_SOCK: _agent, ...noAgent } = process.env;
    const r = await dial(['--inventory', inventory, '-l', cluster.user, `${cluster.clusterIP}:${ECHO_PORT}`], Buffer.alloc(0), noAgent);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      'ssh-egress dial: -i/--identity (or ssh.identityFile in a config file): give a private key file, or run an ssh-agent (no SSH_AUTH_SOCK is set)\n',
    );
  });

  test('a bad flag value over a good file exits 2 naming the flag', async () => {
    const r = await dial(['--config', configFile, '--service-cidr', '198.19.240.0', '198.19.1.7:7']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'ssh-egress dial: --service-cidr: "198.19.240.0" is not a CIDR (write 198.19.240.0/32 for one address)\n');
  });
});
