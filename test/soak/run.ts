// `npm run soak -- --duration 10m`: builds a real-sshd topology (5 nodes), runs test/soak/load.ts inside its
// control-plane namespace, and always tears it down. Needs root, like the system tests. Options: see load.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSoakArgs } from './soak-options.js';
import { createTopology, destroyTopology, removeStaleTopologies } from '../system/topology.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOAD = fileURLToPath(new URL('./load.ts', import.meta.url));
const NODES = 5;

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  parseSoakArgs(args); // refuse bad options before building anything
  if (process.getuid?.() !== 0) {
    console.error('the soak needs root (network namespaces), like npm run test:system');
    return 2;
  }
  await removeStaleTopologies();
  const id = `k${process.pid.toString(36)}`.slice(0, 8);
  let child: ChildProcess | undefined;
  const stop = (sig: NodeJS.Signals): void => {
    child?.kill(sig);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const t = await createTopology({ nodes: NODES, id });
    const file = join(t.dir, 'topology.json');
    writeFileSync(file, JSON.stringify(t, null, 2));
    const argv = ['netns', 'exec', t.cpNamespace, process.execPath, '--conditions=source', '--import', 'tsx', LOAD, ...args];
    child = spawn('ip', argv, { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, SSH_EGRESS_TOPOLOGY: file } });
    const running = child;
    return await new Promise<number>((resolve) => {
      running.on('error', () => resolve(1));
      running.on('exit', (code) => resolve(code ?? 1));
    });
  } finally {
    await destroyTopology({ id });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
