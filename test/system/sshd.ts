// Real OpenSSH sshd for one node namespace: keys, config, start and readiness.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { isAlive, run, waitFor } from './netns.js';

export const SSHD_BINARY = '/usr/sbin/sshd';

export interface SshdFiles {
  dir: string;
  hostKeyFile: string;
  configFile: string;
  pidFile: string;
  logFile: string;
}

export function sshdFiles(dir: string): SshdFiles {
  return {
    dir,
    hostKeyFile: `${dir}/ssh_host_ed25519_key`,
    configFile: `${dir}/sshd_config`,
    pidFile: `${dir}/sshd.pid`,
    logFile: `${dir}/sshd.log`,
  };
}

/** Creates an ed25519 key pair without passphrase (ssh-keygen writes the private key 0600). */
export async function sshKeygen(file: string, comment: string): Promise<string> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** "SHA256:..." exactly as `ssh-keygen -lf` prints it. */
export async function fingerprint(publicKeyFile: string): Promise<string> {
  const out = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile]);
  const fp = out.trim().split(/\s+/)[1];
  if (!fp?.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${out}`);
  return fp;
}

export function writeSshdConfig(f: SshdFiles, listenAddress: string, authorizedKeysFile: string): void {
  mkdirSync(f.dir, { recursive: true });
  const lines = [
    'Port 22',
    `ListenAddress ${listenAddress}`,
    `HostKey ${f.hostKeyFile}`,
    `PidFile ${f.pidFile}`,
    `AuthorizedKeysFile ${authorizedKeysFile}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temp dir and key files are not root-owned-0700 the way StrictModes insists.
    'StrictModes no',
    'AllowTcpForwarding yes',
    'X11Forwarding no',
    'PrintMotd no',
    'UseDNS no',
    'LogLevel VERBOSE',
  ];
  writeFileSync(f.configFile, lines.join('\n') + '\n');
}

/**
 * Starts `sshd -D` inside the namespace, detached (it outlives the caller, e.g. a test process that
 * restarts it), and resolves with its pid once it logs that it listens.
 */
export async function startSshdIn(ns: string, f: SshdFiles, timeoutMs = 10_000): Promise<number> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege-separation chroot dir
  // The log is appended to across restarts: only lines written after this offset count.
  const offset = existsSync(f.logFile) ? statSync(f.logFile).size : 0;
  const child = spawn('ip', ['netns', 'exec', ns, SSHD_BINARY, '-D', '-f', f.configFile, '-E', f.logFile], {
    detached: true,
    stdio: 'ignore',
  });
  let exited: string | undefined;
  child.on('error', (err) => (exited = String(err)));
  child.on('exit', (code, sig) => (exited = `exited with ${code ?? sig}`));
  child.unref();
  const newLog = (): string => {
    try {
      return readFileSync(f.logFile).subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  };
  try {
    await waitFor(`sshd in ${ns}`, () => {
      if (exited !== undefined) throw new Error(`sshd in ${ns} ${exited}`);
      // sshd logs "Server listening" before it writes its PidFile: wait for both.
      return /Server listening on \S+ port 22/.test(newLog()) && readSshdPid(f) === child.pid;
    }, timeoutMs);
  } catch (err) {
    if (child.pid !== undefined && isAlive(child.pid)) process.kill(child.pid, 'SIGKILL');
    throw new Error(`${(err as Error).message}\n--- ${f.logFile} ---\n${newLog()}`);
  }
  // `ip netns exec` execs sshd in place, so the child's pid is sshd's pid.
  return child.pid as number;
}

export function readSshdPid(f: Pick<SshdFiles, 'pidFile'>): number | undefined {
  try {
    const pid = Number(readFileSync(f.pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}
