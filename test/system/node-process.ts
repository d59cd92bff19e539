// Long-running programs inside a node's namespace (an agent that dials out), stopped by the test.
import { spawn, type ChildProcess } from 'node:child_process';
import { signal } from './netns.js';
import { nodeOf, type NodeRef, type Topology } from './topology.js';

export interface NodeProcess {
  child: ChildProcess;
  /** `ip netns exec` execs in place: this is the program's own pid, for SIGSTOP and SIGKILL. */
  pid: number;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name) once it is gone. */
  exited: Promise<number | string>;
  kill(sig?: NodeJS.Signals): void;
}

export function spawnInNode(t: Topology, node: NodeRef, argv: readonly string[], env: NodeJS.ProcessEnv = process.env): NodeProcess {
  const child = spawn('ip', ['netns', 'exec', nodeOf(t, node).namespace, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? 'unknown')));
  return {
    child,
    pid: child.pid as number,
    stderr: () => stderr,
    exited,
    kill: (sig = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) signal(child.pid as number, sig);
    },
  };
}

export interface StockSshAgentOptions {
  user: string; // the node's name
  server: string; // the daemon's agent listener address
  port: number;
  identityFile: string;
  knownHostsFile: string;
  /** The forwarding flags; default `-R 0`, the remote dynamic forward a registration needs. */
  forwards?: string[];
  extra?: string[];
}

/** Stock OpenSSH as the node's agent, exactly as docs/reverse-tunnels.md shows it, with a 1 s keepalive. */
export function stockSshAgent(t: Topology, node: NodeRef, o: StockSshAgentOptions): NodeProcess {
  return spawnInNode(t, node, [
    // ssh keeps the first value given for an option: the caller's extra options come first to win.
    '/usr/bin/ssh', '-F', '/dev/null', '-N', ...(o.extra ?? []),
    ...(o.forwards ?? ['-R', '0']),
    '-p', String(o.port), '-i', o.identityFile,
    '-o', 'IdentitiesOnly=yes',
    '-o', 'ExitOnForwardFailure=yes',
    '-o', 'ServerAliveInterval=1', '-o', 'ServerAliveCountMax=3',
    '-o', `UserKnownHostsFile=${o.knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR',
    `${o.user}@${o.server}`,
  ]);
}
