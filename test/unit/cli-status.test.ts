// `ssh-egress status` against a stand-in admin server on loopback: table and JSON passthrough, and the
// exit status (0 ready, 1 not ready, 2 unreachable or not an ssh-egress admin server).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { adminStatusUrl } from '../../src/cli/status-fetch.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cli-status-test-'));

function statusBody(ready: boolean): string {
  const tunnel = (node: string, state: string, lastError?: string) => ({
    node, address: `198.18.0.${node.slice(1)}`, sshPort: 22, state, since: new Date(Date.now() - 65_000).toISOString(),
    lastError: lastError && { code: 'ERR_AUTH', message: lastError }, attempts: 1, nextRetryAt: undefined,
    hostKeyFingerprint: state === 'READY' ? 'SHA256:abcdefghijklmnopqrstuvwxyz' : undefined, draining: false,
    openStreams: 2, connections: state === 'READY' ? 1 : 0, inFlightBytes: 0, bytesIn: 10, bytesOut: 20, health: { healthy: true, lastProbeAt: undefined, rttMs: 3.4, consecutiveFailures: 0, lastProbeError: undefined, lastProbeErrorCode: undefined, kubeletVerified: true },
  });
  return `${JSON.stringify(
    {
      version: '0.1.0',
      uptimeSeconds: 7200,
      ready: { ready, readyCount: ready ? 2 : 1, total: 2, reasons: [], readyFraction: 1 },
      tunnels: [tunnel('n1', 'READY'), tunnel('n2', ready ? 'READY' : 'TRANSIENT_FAILURE', 'authentication refused by node n2 for user root')],
    },
    null,
    2,
  )}\n`;
}

let server: http.Server;
let base: string;
let ready = true;
let lastBody = '';

before(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      lastBody = statusBody(ready);
      res.end(lastBody);
    } else if (req.url === '/other/status') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"hello":"world"}');
    } else {
      res.writeHead(404);
      res.end('not found\n');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

function status(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'status', ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('ssh-egress status', () => {
  it('ready: the table and summary, exit 0', async () => {
    ready = true;
    const r = await status(['--admin', base]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[0]!, /^NODE\s+ADDRESS\s+DIRECTION\s+STATE\s+SINCE\s+STREAMS\s+RTT\s+HOST KEY\s+LAST ERROR$/);
    assert.match(lines[1]!, /^n1\s+198\.18\.0\.1\s+READY\s+1m\s+2\s+3 ms\s+SHA256:abcdefghijkl\.\.\.$/);
    assert.match(r.stdout, /\nready: 2 of 2 tunnels READY \(need 100%\); daemon 0\.1\.0, up 2h\n$/);
    assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour on a pipe');
  });

  it('not ready: the failing tunnel\'s reason, exit 1; -o json passes the body through as it is', async () => {
    ready = false;
    const r = await status(['--admin', `http://${base}/`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^n2\s+198\.18\.0\.2\s+TRANSIENT_FAILURE\s+.*authentication refused by node n2 for user root$/m);
    const json = await status(['--admin', base, '-o', 'json']);
    assert.equal(json.code, 1);
    assert.equal(json.stdout, lastBody, 'the same bytes');
    assert.equal(JSON.parse(json.stdout).tunnels.length, 2);
  });

  it('the admin address from the daemon\'s config file', async () => {
    ready = true;
    const config = join(dir, 'ssh-egress.yaml');
    writeFileSync(config, `ssh: { user: root }\ninventory: { nodes: [{ name: n1, address: 198.18.0.11 }] }\nlisteners: { admin: { listen: "${base}" } }\n`);
    const r = await status(['--config', config, '-o', 'wide']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NODE\s+ADDRESS\s+DIRECTION\s+AGENT\s+STATE\s+SINCE\s+ATTEMPTS\s+NEXT RETRY\s+STREAMS\s+CONNECTIONS\s+IN FLIGHT\s+BYTES IN\s+BYTES OUT\s+RTT\s+PROBE FAILURES\s+HOST KEY\s+LAST ERROR$/m);
  });

  it('exit 2 when the daemon cannot be asked: nothing listening, or not an ssh-egress admin server', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const refused = await status(['--admin', `127.0.0.1:${port}`]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, `ssh-egress status: cannot reach the daemon's admin server at http://127.0.0.1:${port}: connection refused (is the daemon running?)\n`);
    const other = await status(['--admin', `http://${base}/other`]);
    assert.equal(other.code, 2);
    assert.match(other.stderr, /is not an ssh-egress \/status/);
    const missing = await status(['--admin', `http://${base}/nothing`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /answered HTTP 404: is this the daemon's admin address\?/);
  });

  it('admin addresses: host:port, [ipv6]:port, URLs with a path prefix', () => {
    assert.equal(adminStatusUrl('127.0.0.1:8132').href, 'http://127.0.0.1:8132/status');
    assert.equal(adminStatusUrl('[::1]:8132').href, 'http://[::1]:8132/status');
    assert.equal(adminStatusUrl('http://127.0.0.1:8132/egress/').href, 'http://127.0.0.1:8132/egress/status');
    assert.throws(() => adminStatusUrl('ftp://x'), /only http/);
  });
});
