// The CLI benchmarks time the built CLI (dist/), as users run it, so they build it first.
import { spawnSync } from 'node:child_process';

export const CLI = 'dist/bin/ssh-egress.js';

export function buildCli(bench: string): void {
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  if (build.status !== 0) throw new Error(`${bench}: the build failed`);
}
