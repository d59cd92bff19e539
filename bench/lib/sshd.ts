// OpenSSH on loopback for the benchmarks: our own sshd(s) with a temp config, and the `ssh` client forms
// we compare against (-L forwarding, a ControlMaster, -W per stream). The cipher is pinned on both sides.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { freePort, run, start, stop, track, waitForPort, sleep } from './proc.js';

export const SSHD = '/usr/sbin/sshd';
export const CIPHER = 'aes128-gcm@openssh.com';
export const USER = 'root';

export interface SshKeys {
  dir: string;
  identityFile: string;
  hostKeyFile: string;
  hostPublicKey: string;
  authorizedKeysFile: string;
  knownHostsFile: string;
}

export interface Sshd {
  name: string;
  address: string;
  port: number;
  process: ChildProcess;
  spec: NodeSpec;
}

/** One client key and one host key shared by every sshd of the run. */
export async function makeKeys(dir: string): Promise<SshKeys> {
  mkdirSync(dir, { recursive: true });
  const identityFile = path.join(dir, 'id_ed25519');
  const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-client', '-f', identityFile]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'bench-host', '-f', hostKeyFile]);
  const authorizedKeysFile = path.join(dir, 'authorized_keys');
  writeFileSync(authorizedKeysFile, readFileSync(`${identityFile}.pub`));
  const knownHostsFile = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsFile, '');
  const hostPublicKey = readFileSync(`${hostKeyFile}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  return { dir, identityFile, hostKeyFile, hostPublicKey, authorizedKeysFile, knownHostsFile };
}

/** Starts `sshd -D` on address:<free port>, with the cipher pinned, and waits until it accepts connections. */
export async function startSshd(keys: SshKeys, name: string, address: string): Promise<Sshd> {
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege-separation directory
  const port = await freePort(address);
  const config = path.join(keys.dir, `sshd_config.${name}`);
  writeFileSync(
    config,
    [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${keys.hostKeyFile}`,
      `PidFile ${path.join(keys.dir, `sshd.${name}.pid`)}`,
      `AuthorizedKeysFile ${keys.authorizedKeysFile}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      'X11Forwarding no',
      'UseDNS no',
      `Ciphers ${CIPHER}`,
      'MaxStartups 200:30:400',
      'MaxSessions 1000',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  const child = start(SSHD, ['-D', '-e', '-f', config]);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  try {
    await waitForPort(address, port, 10_000, () => child.exitCode === null);
  } catch (err) {
    throw new Error(`sshd ${name}: ${(err as Error).message}\n${stderr}`);
  }
  writeFileSync(keys.knownHostsFile, `[${address}]:${port} ${keys.hostPublicKey}\n`, { flag: 'a' });
  const spec: NodeSpec = {
    name,
    address,
    aliases: [],
    sshPort: port,
    kubeletPort: 10250,
    podCIDRs: [],
    hostKeyFingerprints: [],
    labels: {},
  };
  return { name, address, port, process: child, spec };
}

/** ssh argv ignoring every user and global config, with the pinned cipher. */
export function sshArgs(keys: SshKeys, node: Sshd, extra: readonly string[] = []): string[] {
  return [
    '-F', '/dev/null',
    '-i', keys.identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${keys.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR',
    '-c', CIPHER,
    '-p', String(node.port),
    ...extra,
    `${USER}@${node.address}`,
  ];
}

export interface LocalForward {
  /** Local ports, one per target port asked for, each forwarding to it through the node. */
  ports: number[];
  /** The ssh client's pid. */
  pid: number;
  close(): Promise<void>;
}

/** One `ssh -N -L 127.0.0.1:<port>:<targetHost>:<targetPort> ...` for all the target ports: OpenSSH's warm tunnel. */
export async function sshLocalForward(keys: SshKeys, node: Sshd, targetHost: string, targetPorts: number[]): Promise<LocalForward> {
  const ports: number[] = [];
  for (const _ of targetPorts) ports.push(await freePort());
  const forwards = targetPorts.flatMap((t, i) => ['-L', `127.0.0.1:${ports[i]}:${targetHost}:${t}`]);
  const child = start('ssh', sshArgs(keys, node, ['-N', '-o', 'ExitOnForwardFailure=yes', ...forwards]));
  for (const port of ports) await waitForPort('127.0.0.1', port, 10_000, () => child.exitCode === null);
  return { ports, pid: child.pid as number, close: () => stop(child) };
}

/**
 * OpenSSH's dynamic forward (a SOCKS server on a local port), in one of its two forms: `ssh -N -D` (no remote
 * command: neither ssh nor sshd turns Nagle off), or interactive, `ssh -tt -D ... 'sleep infinity'` (a session
 * with a tty, which makes both turn it off).
 */
export async function sshDynamicForward(keys: SshKeys, node: Sshd, form: 'plain' | 'interactive'): Promise<LocalForward> {
  const port = await freePort();
  const forward = ['-o', 'ExitOnForwardFailure=yes', '-D', `127.0.0.1:${port}`];
  const args = form === 'plain' ? sshArgs(keys, node, ['-N', ...forward]) : [...sshArgs(keys, node, ['-tt', ...forward]), 'sleep infinity'];
  // stdin stays open (a pipe nobody writes): at its end the interactive session would end too.
  const child = start('ssh', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  await waitForPort('127.0.0.1', port, 10_000, () => child.exitCode === null);
  return { ports: [port], pid: child.pid as number, close: () => stop(child) };
}

export interface ControlMaster {
  socket: string;
  /** Extra ssh arguments that make a client use the master. */
  args: string[];
  close(): Promise<void>;
}

/** `ssh -M -S <socket> -N`: one master connection that later `ssh -S` clients multiplex over. */
export async function sshControlMaster(keys: SshKeys, node: Sshd): Promise<ControlMaster> {
  const socket = path.join(keys.dir, `ctl.${node.name}.${process.pid}`);
  const child = start('ssh', sshArgs(keys, node, ['-N', '-M', '-S', socket]));
  const until = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null) throw new Error('ssh ControlMaster exited');
    if (Date.now() > until) throw new Error('ssh ControlMaster did not create its socket');
    await sleep(20);
  }
  return { socket, args: ['-S', socket, '-o', 'ControlMaster=no'], close: () => stop(child) };
}

/** Adds `-L` forwarding to a running master (`ssh -S ctl -O forward`): a warm tunnel like ssh -L. */
export async function sshMuxForward(keys: SshKeys, node: Sshd, master: ControlMaster, targetHost: string, targetPort: number): Promise<number> {
  const port = await freePort();
  await run('ssh', sshArgs(keys, node, [...master.args, '-O', 'forward', '-L', `127.0.0.1:${port}:${targetHost}:${targetPort}`]));
  await waitForPort('127.0.0.1', port);
  return port;
}

/** `ssh [-S ctl] -W host:port` as a child whose stdin/stdout are the stream. */
export function sshStdio(keys: SshKeys, node: Sshd, target: string, extra: readonly string[] = []): ChildProcess {
  return track(spawn('ssh', sshArgs(keys, node, [...extra, '-W', target]), { stdio: ['pipe', 'pipe', 'ignore'] }));
}
