// `ssh-egress dial --connect-socket` / `--connect`: the CLI as a ProxyCommand asks a running daemon's HTTP
// CONNECT front end (here in-process over the simulated cluster) instead of opening SSH connections itself.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Dialer } from '../../src/dialer/dialer.js';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { silentLogger } from '../../src/log.js';
import { ECHO_PORT, startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';
import { TunnelPool } from '../../src/tunnel/pool.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let cluster: SimulatedCluster;
let pool: TunnelPool;
let dir: string;
let socketPath: string;
let tcpPort: number;
const frontends: HttpConnectFrontend[] = [];

interface Result {
  code: number;
  stdout: Buffer;
  stderr: string;
}

function dial(args: string[], stdin: Buffer = Buffer.alloc(0)): Promise<Result> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'dial', ...args];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, argv, { cwd: ROOT, encoding: 'buffer', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString('utf8') });
    });
    child.stdin?.end(stdin);
  });
}

before(async () => {
  cluster = await startSimulatedCluster({ nodes: 2 });
  pool = new TunnelPool({ user: cluster.user, identityFile: cluster.identityFile, knownHostsFile: cluster.knownHostsFile });
  pool.setNodes(cluster.nodes);
  await pool.ready({ timeoutMs: 10_000 });
  const dialer = new Dialer(pool, { serviceCIDRs: cluster.serviceCIDRs });
  dir = mkdtempSync(join(tmpdir(), 'cli-dial-daemon-'));
  socketPath = join(dir, 'egress.sock');
  frontends.push(new HttpConnectFrontend(dialer, { kind: 'unix', path: socketPath }, { logger: silentLogger() }));
  frontends.push(new HttpConnectFrontend(dialer, { kind: 'tcp', host: '127.0.0.1', port: 0 }, { logger: silentLogger() }));
  for (const f of frontends) await f.listen();
  tcpPort = (frontends[1]!.address() as { port: number }).port;
});

after(async () => {
  for (const f of frontends) await f.close();
  await pool?.close();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('ssh-egress dial through a running daemon', () => {
  test('--connect-socket pipes stdin to a pod\'s echo service and back, carried by the daemon\'s tunnel', async () => {
    const payload = randomBytes(256 * 1024);
    const podIP = cluster.podIPs.n2![0]!;
    const r = await dial(['--connect-socket', socketPath, `${podIP}:${ECHO_PORT}`], payload);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(payload), 'the echo came back intact');
    assert.ok(cluster.served.some((s) => s.node === 'n2' && s.destHost === podIP && s.destPort === ECHO_PORT), 'carried by the pod\'s node');
  });

  test('--connect reaches a loopback CONNECT listener', async () => {
    const r = await dial(['--connect', `127.0.0.1:${tcpPort}`, `${cluster.clusterIP}:${ECHO_PORT}`], Buffer.from('through tcp\n'));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'through tcp\n');
  });

  test('a refusal prints the daemon\'s status and reason and exits 1', async () => {
    const r = await dial(['--connect-socket', socketPath, '192.0.2.9:22']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^ssh-egress dial: the daemon refused 192\.0\.2\.9:22: HTTP 502: .*no route to 192\.0\.2\.9:22/);
    assert.equal(r.stdout.length, 0);
  });

  test('no daemon at the socket, or a non-loopback --connect, exits 2 in one line', async () => {
    const missing = await dial(['--connect-socket', join(dir, 'nope.sock'), 'n1:22']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^ssh-egress dial: cannot reach the daemon at .*nope\.sock: no such socket \(is the daemon running/);
    const remote = await dial(['--connect', '198.18.0.1:8131', 'n1:22']);
    assert.equal(remote.code, 2);
    assert.equal(remote.stderr, 'ssh-egress dial: --connect: 198.18.0.1 is not a loopback address: the plain CONNECT listener serves this host only\n');
  });
});
