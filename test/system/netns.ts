// Network-namespace and process plumbing for the system-test topology (root only).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion and reports its exit code; never throws for a non-zero exit. */
export function exec(file: string, args: readonly string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      if (typeof err.code === 'number') return resolve({ code: err.code, stdout, stderr });
      if (err.signal) return resolve({ code: 128, stdout, stderr: `${stderr}killed by ${err.signal}` });
      reject(err); // could not start it (ENOENT ...) or output overflow
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Like exec, but a non-zero exit is an error carrying the command and its stderr. */
export async function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const r = await exec(file, args, input);
  if (r.code !== 0) {
    throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

/** Many `ip` commands inside one namespace in one process (-batch): one fork instead of dozens. */
export function ipBatch(ns: string, commands: readonly string[]): Promise<string> {
  return run('ip', ['-n', ns, '-batch', '-'], commands.join('\n') + '\n');
}

export async function listNamespaces(): Promise<string[]> {
  const out = await run('ip', ['netns', 'list']);
  // Lines look like "name (id: 3)" or just "name".
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

export async function namespacePids(ns: string): Promise<number[]> {
  const r = await exec('ip', ['netns', 'pids', ns]);
  if (r.code !== 0) return []; // namespace already gone
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** True while the process exists and is not a zombie (a killed child not yet reaped still "exists"). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Kills every process inside the namespace, then deletes it. Missing namespaces are fine. */
export async function deleteNamespace(ns: string): Promise<void> {
  // Processes keep a namespace alive after `ip netns del` merely unmounts its name: kill them first.
  // Leaves first, so each parent (sshd) reaps its children instead of orphaning them to pid 1, which in
  // some containers never reaps and would keep zombies around.
  for (let round = 0; round < 100; round++) {
    const pids = (await namespacePids(ns)).filter((p) => p !== process.pid && isAlive(p));
    if (pids.length === 0) break;
    const parents = new Set(pids.map(parentPid));
    const leaves = pids.filter((p) => !parents.has(p));
    for (const pid of leaves.length > 0 ? leaves : pids) signal(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 10));
  }
  const r = await exec('ip', ['netns', 'del', ns]);
  if (r.code !== 0 && !/No such file|Cannot remove namespace file/.test(r.stderr)) {
    throw new Error(`ip netns del ${ns}: ${r.stderr.trim()}`);
  }
}
