// `npm run test:system`: builds the real-sshd topology, runs test/system/*.test.ts inside its control-plane
// namespace, and always tears it down. Usage: tsx test/system/run.ts [test files...]
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SSHD_BINARY } from './sshd.js';
import { createTopology, destroyTopology, removeStaleTopologies } from './topology.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

function onPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(join(dir || '.', program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (network namespaces need CAP_SYS_ADMIN)');
  try {
    accessSync(SSHD_BINARY, constants.X_OK);
  } catch {
    missing.push(`${SSHD_BINARY} (OpenSSH server)`);
  }
  for (const p of ['ip', 'ssh', 'ssh-keygen']) if (!onPath(p)) missing.push(`${p} on PATH`);
  return missing;
}

function testFiles(argv: string[]): string[] {
  if (argv.length > 0) return argv;
  return readdirSync(HERE)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => relative(REPO_ROOT, join(HERE, f)));
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    const what = `system tests need: ${missing.join(', ')}`;
    if (process.env.CI === 'true') {
      console.error(`FAILED: ${what}. System tests may not be skipped in CI.`);
      return 1;
    }
    console.log(`SKIPPED system tests: ${what}`);
    return 0;
  }

  const stale = await removeStaleTopologies();
  if (stale.length > 0) console.log(`removed stale topologies: ${stale.join(', ')}`);

  const id = process.pid.toString(36);
  let child: ChildProcess | undefined;
  let creation: Promise<unknown> = Promise.resolve();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = sig;
    console.error(`\n${sig}: stopping tests and removing topology ${id}`);
    child?.kill(sig);
    // Let a half-done createTopology settle first, or it could start sshd in a namespace being deleted.
    void creation
      .catch(() => undefined)
      .then(() => destroyTopology({ id }))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const started = Date.now();
    const pending = createTopology({ nodes: 3, id });
    creation = pending;
    const t = await pending;
    const topologyFile = join(t.dir, 'topology.json');
    writeFileSync(topologyFile, JSON.stringify(t, null, 2));
    console.log(`topology ${t.id}: ${t.nodes.length} nodes up in ${Date.now() - started} ms (${topologyFile})`);
    if (interrupted) return 1;

    const files = testFiles(process.argv.slice(2));
    const args = ['netns', 'exec', t.cpNamespace, process.execPath, '--import', 'tsx', '--test',
      '--test-reporter=spec', '--test-concurrency=1', ...files];
    child = spawn('ip', args, {
      cwd: REPO_ROOT,
      stdio: 'inherit',
      env: { ...process.env, SSH_EGRESS_TOPOLOGY: topologyFile },
    });
    const running = child;
    return await new Promise<number>((resolve) => {
      running.on('error', (err) => {
        console.error(`cannot start the test runner: ${err.message}`);
        resolve(1);
      });
      running.on('exit', (code, sig) => resolve(code ?? (sig ? 1 : 0)));
    });
  } finally {
    await destroyTopology({ id });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exit(1);
  },
);
