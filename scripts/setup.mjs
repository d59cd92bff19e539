#!/usr/bin/env node
// Makes a fresh machine ready: npm dependencies, and with --system the OS tools the system tests use
// (OpenSSH server and client, iproute2, curl, nftables, systemd-analyze). Runs before `npm start` and `npm test`; cheap when all is there.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });

// What `npm ci` installs from: the lock file, and the patches it applies to dependencies (patches/, by patch-package).
function installInputs() {
  const patches = existsSync('patches') ? readdirSync('patches').map((name) => `patches/${name}`) : [];
  return ['package-lock.json', ...patches];
}

function ensureNodeModules() {
  const marker = 'node_modules/.package-lock.json';
  const newest = Math.max(...installInputs().map((file) => statSync(file).mtimeMs));
  if (existsSync(marker) && statSync(marker).mtimeMs >= newest) return;
  console.error('setup: installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
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
if (process.argv.includes('--system')) ensureSystemTools();
