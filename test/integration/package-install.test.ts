// The package as a user gets it: `npm pack`, installed into a fresh project from the tarball (npm's cache,
// no build at install), then the README's library snippet against the simulated cluster, the library's
// types under `skipLibCheck: false`, `npx ssh-egress --version`, and @kubernetes/client-node left out.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { APP_PORT, startSimulatedCluster, type SimulatedCluster } from '../../src/simulator/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir: string | undefined;
let cluster: SimulatedCluster | undefined;

interface Run {
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, encoding: 'utf8', timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** The README's ```ts block under "A short tour", with its placeholders swapped for the simulated cluster's values. */
async function readmeSnippet(swaps: Record<string, string>): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  let code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(code, 'the README has a ts snippet');
  for (const [from, to] of Object.entries(swaps)) {
    assert.ok(code.includes(from), `the README snippet still says ${from}`);
    code = code.replaceAll(from, to);
  }
  return code;
}

after(async () => {
  await cluster?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('npm pack, install from the tarball, then the README snippet, the types and the CLI work', async () => {
  dir = await mkdtemp(join(tmpdir(), 'package-install-'));
  process.stderr.write('# package-install: npm pack (builds dist/)\n');
  const packed = JSON.parse((await run(NPM, ['pack', '--json', '--pack-destination', dir], ROOT)).stdout) as [{ filename: string; files: { path: string }[] }];
  const files = new Set(packed[0].files.map((f) => f.path));
  for (const needed of ['LICENSE', 'README.md', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/bin/ssh-egress.js', 'src/index.ts', 'src/simulator/index.ts', 'bin/ssh-egress.ts']) {
    assert.ok(files.has(needed), `the tarball holds ${needed}`);
  }
  // Every source map points at a file that is in the tarball.
  for (const map of [...files].filter((f) => f.endsWith('.js.map')).slice(0, 400)) {
    const { sources } = JSON.parse(await readFile(join(ROOT, map), 'utf8')) as { sources: string[] };
    for (const source of sources) assert.ok(files.has(join(map, '..', source)), `${map} points to ${source}, which is shipped`);
  }

  const project = join(dir, 'project');
  await run('mkdir', ['-p', project], dir);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true, type: 'module' }));
  process.stderr.write('# package-install: npm install from the tarball\n');
  const install = await run(NPM, ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, packed[0].filename)], project);
  assert.doesNotMatch(install.stdout + install.stderr, /ssh-egress@[^ ]+ \((prepare|install|postinstall)/, 'no install-time script of ours');
  assert.equal(existsSync(join(project, 'node_modules/@kubernetes/client-node')), false, 'client-node is not installed for a library user');
  assert.ok(!(await readdir(join(project, 'node_modules'))).includes('@kubernetes'));

  cluster = await startSimulatedCluster({ nodes: 2, dir: join(dir, 'cluster') });
  const inventory = join(dir, 'nodes.yaml');
  await writeFile(inventory, YAML.stringify({ nodes: cluster.nodes }));
  const snippet = await readmeSnippet({
    "'nodes.yaml'": JSON.stringify(inventory),
    "user: 'root'": `user: ${JSON.stringify(cluster.user)}`,
    "'/root/.ssh/id_ed25519'": JSON.stringify(cluster.identityFile),
    "'/root/.ssh/known_hosts'": JSON.stringify(cluster.knownHostsFile),
    "'10.96.0.0/12'": JSON.stringify(cluster.serviceCIDRs[0]),
    "'10.244.1.7:8080'": JSON.stringify(`${cluster.podIPs.n2![0]}:${APP_PORT}`),
    "node: 'node-a'": "node: 'n1'",
  });
  await writeFile(join(project, 'snippet.mjs'), snippet);
  const ran = await run(process.execPath, ['snippet.mjs'], project);
  assert.equal(ran.stdout, 'carried by n2\n');

  // The types as a strict TypeScript user compiles them, every declaration file checked.
  await writeFile(join(project, 'main.ts'), "import { Dialer, KubeInventory, TunnelPool, withEgress } from 'ssh-egress';\nimport { startSimulatedCluster } from 'ssh-egress/simulator';\nexport const used = [Dialer, KubeInventory, TunnelPool, withEgress, startSimulatedCluster];\n");
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
      files: ['main.ts'],
    }),
  );
  await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], project);

  assert.equal((await run('npx', ['--no-install', 'ssh-egress', '--version'], project)).stdout, `${(JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`);
  const kube = await run('npx', ['--no-install', 'ssh-egress', 'dial', '--kubeconfig', join(dir, 'kubeconfig'), '-i', cluster.identityFile, '--known-hosts', cluster.knownHostsFile, 'n1:22'], project).then(
    () => assert.fail('dial --kubeconfig without client-node must fail'),
    (err: Error) => err.message,
  );
  assert.match(kube, /\nssh-egress dial: the Kubernetes inventory \(--kubeconfig, inventory\.kubernetes\) needs @kubernetes\/client-node, which is not installed: add it with `npm install @kubernetes\/client-node`\n/);
});
