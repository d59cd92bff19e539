// The daemon under soak: a real `ssh-egress daemon` child process with a config for the topology, its
// admin API, and its resource use read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import type { Topology } from '../system/topology.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CONNECT_LISTEN = { host: '127.0.0.1', port: 18231 };
const ADMIN = '127.0.0.1:18232';

export interface Resources {
  fds: number;
  rssBytes: number;
}

export interface TunnelView {
  node: string;
  state: string;
  openStreams: number;
}

export class SoakDaemon {
  readonly inventoryFile: string;
  private readonly configFile: string;
  private child: ChildProcess | undefined;
  private stderrTail = '';
  exitCode: number | null | undefined;

  constructor(private readonly t: Topology) {
    this.inventoryFile = join(t.dir, 'soak-nodes.yaml');
    this.configFile = join(t.dir, 'soak-daemon.yaml');
  }

  /** Short keepalive and health intervals: a frozen node is found in seconds, well inside a stream's deadline. */
  writeConfig(): void {
    const t = this.t;
    writeFileSync(
      this.configFile,
      stringify({
        ssh: {
          user: t.user,
          identityFile: t.identityFile,
          knownHostsFile: t.knownHostsFile,
          connectTimeoutMs: 2_000,
          handshakeTimeoutMs: 3_000,
          keepaliveIntervalMs: 1_000,
          keepaliveCountMax: 3,
        },
        healthCheck: { caFile: t.kubeletCaFile, intervalMs: 2_000, timeoutMs: 1_500, failureThreshold: 2 },
        inventory: { file: this.inventoryFile },
        cluster: { serviceCIDRs: [t.serviceCIDR] },
        dial: { timeoutMs: 5_000 },
        listeners: { connect: { listen: `${CONNECT_LISTEN.host}:${CONNECT_LISTEN.port}` }, admin: { listen: ADMIN } },
        drain: { graceMs: 5_000 },
        log: { level: 'warn', format: 'json' },
      }),
    );
  }

  /** Rewrites the inventory with these nodes (all of them when omitted); SIGHUP makes the daemon re-read it. */
  writeInventory(names = this.t.nodes.map((n) => n.name)): void {
    const nodes = this.t.nodes.filter((n) => names.includes(n.name)).map((n) => ({ name: n.name, address: n.address, podCIDRs: [n.podCIDR] }));
    writeFileSync(this.inventoryFile, stringify({ nodes }));
  }

  async start(): Promise<void> {
    this.writeConfig();
    this.writeInventory();
    // node itself, not npx: the child's pid is the daemon's, for /proc.
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'daemon', '--config', this.configFile], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child = child;
    child.stderr?.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString()).slice(-20_000);
    });
    child.on('exit', (code) => (this.exitCode = code));
    await this.waitUntil('every tunnel READY', async () => (await this.tunnels()).every((s) => s.state === 'READY'), 60_000);
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error('daemon not started');
    return this.child.pid;
  }

  get alive(): boolean {
    return this.child !== undefined && this.exitCode === undefined;
  }

  get log(): string {
    return this.stderrTail;
  }

  reload(): void {
    this.child?.kill('SIGHUP');
  }

  async tunnels(): Promise<TunnelView[]> {
    const res = await fetch(`http://${ADMIN}/status`, { signal: AbortSignal.timeout(5_000) });
    return ((await res.json()) as { tunnels: TunnelView[] }).tunnels;
  }

  async metrics(): Promise<string> {
    const res = await fetch(`http://${ADMIN}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return res.text();
  }

  resources(): Resources {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return { fds: readdirSync(`/proc/${this.pid}/fd`).length, rssBytes: rssKiB * 1024 };
  }

  async waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
    const started = Date.now();
    for (;;) {
      if (await check().catch(() => false)) return Date.now() - started;
      if (!this.alive) throw new Error(`daemon exited (${this.exitCode}) while waiting for ${what}:\n${this.stderrTail.slice(-3000)}`);
      if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** SIGTERM, as an operator stops it; resolves with the exit code (SIGKILL after 30 s). */
  async stop(): Promise<number | null> {
    const child = this.child;
    if (!child || this.exitCode !== undefined) return this.exitCode ?? null;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await exited) as [number | null];
    clearTimeout(timer);
    return code;
  }
}
