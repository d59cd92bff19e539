#!/usr/bin/env node
// Makes a fresh machine ready: npm dependencies with our patches to them (patches/, applied by patch-package), and
// with --system the OS tools the system tests use (OpenSSH server and client, iproute2, curl, nftables,
// systemd-analyze). Runs before `npm start`, `npm test` and `npm run bench`; cheap when all is there.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

const newerThan = (marker, files) => !existsSync(marker) || files.some((file) => statSync(file).mtimeMs > statSync(marker).mtimeMs);

function ensureNodeModules() {
  if (!newerThan('node_modules/.package-lock.json', ['package-lock.json'])) return;
  console.error('setup: installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// Not an npm lifecycle script: the package installed from its tarball must run no install-time script of ours
// (test/integration/package-install.test.ts), and it ships without the patches.
// A copy of the patches last applied is kept beside them, so a changed patch replaces the old one (taken back
// first) instead of failing on files that already carry it.
function ensurePatches() {
  const patches = existsSync(PATCHES) ? readdirSync(PATCHES).sort() : [];
  const applied = existsSync(APPLIED) ? readdirSync(APPLIED).sort() : [];
  const same = patches.length === applied.length && patches.every((name, i) => name === applied[i] && readFileSync(`${PATCHES}/${name}`).equals(readFileSync(`${APPLIED}/${name}`)));
  if (same) return;
  if (applied.length > 0) {
    console.error('setup: taking back the patches applied before');
    try {
      patchPackage(['--reverse', '--patch-dir', APPLIED]);
    } catch {
      console.error('setup: they do not come off cleanly; reinstalling npm dependencies');
      run('npm', ['ci', '--no-audit', '--no-fund']);
    }
    rmSync(APPLIED, { recursive: true, force: true });
  }
  if (patches.length === 0) return;
  console.error('setup: applying patches/ to dependencies (patch-package)');
  patchPackage([]);
  mkdirSync(APPLIED);
  for (const name of patches) copyFileSync(`${PATCHES}/${name}`, `${APPLIED}/${name}`);
}

const PATCHES = 'patches';
const APPLIED = 'node_modules/.patches-applied';
const patchPackage = (args) => run('node_modules/.bin/patch-package', ['--error-on-fail', ...args]);

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
