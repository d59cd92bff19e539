// The daemon as users run it: the built CLI (`node dist/bin/ssh-egress.js daemon --config ...`) in a process of
// its own, with a config file whose SOCKS5, HTTP CONNECT and admin listeners are on loopback TCP ports.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { CLI } from './build-cli.js';
import { freePort, sleep, start, stop } from './proc.js';
import { USER, type Sshd, type SshKeys } from './sshd.js';

export interface DaemonProcess {
  pid: number;
  socksPort: number;
  connectPort: number;
  close(): Promise<void>;
}

/** GET /readyz on the admin port: true on 200. */
function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

export interface DaemonProcessOptions {
  /** Arguments for node itself (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** The CLI script to run; default the built one (dist/), another build to compare with it. */
  cli?: string;
}

/**
 * Starts the built CLI's daemon over `node`; `reachable` is put in the node's pod CIDRs, so the peer servers on
 * that loopback address route through its tunnel. Resolves once /readyz answers 200.
 */
export async function startDaemonProcess(keys: SshKeys, node: Sshd, reachable: string, options: DaemonProcessOptions = {}): Promise<DaemonProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssh-egress-bench-daemon-'));
  const [socksPort, connectPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const config = path.join(dir, 'ssh-egress.yaml');
  writeFileSync(
    config,
    YAML.stringify({
      ssh: { user: USER, identityFile: keys.identityFile, knownHostsFile: keys.knownHostsFile },
      healthCheck: { kind: 'ssh' },
      inventory: { nodes: [{ name: node.name, address: node.address, sshPort: node.port, podCIDRs: [`${reachable}/32`] }] },
      listeners: {
        socks: { listen: `127.0.0.1:${socksPort}` },
        connect: { listen: `127.0.0.1:${connectPort}` },
        admin: { listen: `127.0.0.1:${adminPort}` },
      },
      log: { level: 'error' },
      // Stops at once when the bench is done (a profile is written at a clean exit).
      drain: { graceMs: 100 },
    }),
  );
  const child = start(process.execPath, [...(options.nodeArgs ?? []), options.cli ?? CLI, 'daemon', '--config', config], { stdio: ['ignore', 'ignore', 'inherit'], cwd: process.cwd() });
  const close = async (): Promise<void> => {
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 30_000;
  while (!(await ready(adminPort))) {
    if (child.exitCode !== null || Date.now() > until) {
      await close();
      throw new Error(`the daemon ${child.exitCode !== null ? `exited (${child.exitCode})` : 'was not ready within 30 s'}`);
    }
    await sleep(50);
  }
  return { pid: child.pid as number, socksPort, connectPort, close };
}
