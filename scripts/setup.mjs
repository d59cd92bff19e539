#!/usr/bin/env node
// Makes a fresh machine ready: npm dependencies with our patches to them (patches/, applied by patch-package), and
// with --system the OS tools the system tests use (OpenSSH server and client, iproute2, curl, nftables,
// systemd-analyze). Runs before `npm start`, `npm test` and `npm run bench`; cheap when all is there.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

const newerThan = (marker, files) => !existsSync(marker) || files.some((file) => statSync(file).mtimeMs > statSync(marker).mtimeMs);

function ensureNodeModules() {
  if (!newerThan('node_modules/.package-lock.json', ['package-lock.json'])) return;
  console.error('setup: installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// Not an npm lifecycle script: the package installed from its tarball must run no install-time script of ours
// (test/integration/package-install.test.ts), and it ships without the patches.
function ensurePatches() {
  const patches = existsSync('patches') ? readdirSync('patches').map((name) => `patches/${name}`) : [];
  const marker = 'node_modules/.patches-applied';
  if (patches.length === 0 || !newerThan(marker, ['node_modules/.package-lock.json', ...patches])) return;
  console.error('setup: applying patches/ to dependencies (patch-package)');
  run('node_modules/.bin/patch-package', []);
  writeFileSync(marker, '');
}

const SYSTEM_TOOLS = [
  ['/usr/sbin/sshd', 'openssh-server'],
  ['/usr/bin/ssh', 'openssh-client'],
  ['/usr/bin/ssh-keygen', 'openssh-client'],
  ['/usr/sbin/ip', 'iproute2'],
  ['/usr/bin/curl', 'curl'],
  // The reverse-tunnel system test makes a node unreachable with an nftables rule in its namespace.
  ['/usr/sbin/nft', 'nftables'],
  // The unit suite checks the systemd units in examples/ with `systemd-analyze verify`.
  ['/usr/bin/systemd-analyze', 'systemd'],
];

function ensureSystemTools() {
  const missing = [...new Set(SYSTEM_TOOLS.filter(([path]) => !existsSync(path)).map(([, pkg]) => pkg))];
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(`setup: missing ${missing.join(', ')}; install them as root (apt-get install ${missing.join(' ')})`);
    return;
  }
  console.error(`setup: installing ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    install();
  }
}

ensureNodeModules();
ensurePatches();
if (process.argv.includes('--system')) ensureSystemTools();
