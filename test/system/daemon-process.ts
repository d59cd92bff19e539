// `ssh-egress daemon` as an operator runs it: the real CLI process, its log on stderr, its admin server.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

const CLI = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts'];

export class DaemonProcess {
  readonly child: ChildProcess;
  /** Everything the daemon logged so far. */
  stderr = '';

  /** Starts `ssh-egress daemon <args>`; `admin` is its admin listener's host:port. */
  constructor(
    args: readonly string[],
    readonly admin: string,
  ) {
    this.child = spawn('node', [...CLI, 'daemon', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (c: Buffer) => (this.stderr += c.toString()));
  }

  async get(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://${this.admin}${path}`);
    return { status: res.status, body: await res.text() };
  }

  /** Polls `check` (a throw counts as "not yet"); the timeout's error carries the daemon's last log lines. */
  async waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (await Promise.resolve().then(check).catch(() => false)) return;
      if (this.child.exitCode !== null) throw new Error(`daemon exited (${this.child.exitCode}) while waiting for ${what}:\n${this.stderr.slice(-3000)}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; daemon stderr:\n${this.stderr.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** The JSON log entries with this message. */
  logEntries(message: string): Array<Record<string, unknown>> {
    return this.stderr
      .split('\n')
      .filter((line) => line.includes(`"message":"${message}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricValue((await this.get('/metrics')).body, name, labels);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
  assert.ok(family, `metric ${name} is exported`);
  const sample = family.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(sample?.value ?? NaN);
}
