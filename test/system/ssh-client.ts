// The real OpenSSH client against the topology: `ssh -W host:port` as a byte stream (run inside the cp namespace).
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Topology, TopologyNode } from './topology.js';

export interface SshOptions {
  knownHostsFile?: string; // defaults to the topology's correct one
  extra?: string[];
}

/** ssh argv that ignores every user/global config: only what the topology provides counts. */
export function sshArgs(t: Topology, node: TopologyNode, opts: SshOptions = {}): string[] {
  return [
    '-F', '/dev/null',
    '-i', t.identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', `UserKnownHostsFile=${opts.knownHostsFile ?? t.knownHostsFile}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'ConnectTimeout=5',
    '-o', 'LogLevel=ERROR',
    ...(opts.extra ?? []),
    `${t.user}@${node.address}`,
  ];
}

export interface SshStream {
  child: ChildProcessWithoutNullStreams;
  /** stdin/stdout of `ssh -W` as one duplex: bytes in and out of the forwarded TCP connection. */
  stream: Duplex;
  /** Resolves when ssh exits, with its code and everything it wrote to stderr. */
  done: Promise<{ code: number | null; stderr: string }>;
}

function spawnSsh(t: Topology, node: TopologyNode, target: string, opts: SshOptions): Omit<SshStream, 'stream'> {
  const child = spawn('ssh', [...sshArgs(t, node, opts), '-W', target], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
  return { child, done };
}

export function sshStream(t: Topology, node: TopologyNode, target: string, opts: SshOptions = {}): SshStream {
  const { child, done } = spawnSsh(t, node, target, opts);
  return { child, stream: Duplex.from({ readable: child.stdout, writable: child.stdin }), done };
}

/** Sends `input` through `ssh -W target`, half-closes, and collects everything that comes back. */
export async function sshPipe(
  t: Topology,
  node: TopologyNode,
  target: string,
  input: Buffer | string,
  opts: SshOptions = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const { child, done } = spawnSsh(t, node, target, opts);
  const chunks: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stdin.on('error', () => undefined); // ssh may exit (e.g. host key refused) before reading stdin
  child.stdin.end(input);
  const { code, stderr } = await done;
  return { code, stdout: Buffer.concat(chunks), stderr };
}
