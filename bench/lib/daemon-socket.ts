// A running daemon as the CLI benchmarks ask it: a pool holding the tunnel to one node, behind an HTTP
// CONNECT front end on a Unix socket in a temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HttpConnectFrontend } from '../../src/frontends/http-connect-server.js';
import { silentLogger } from '../../src/log.js';
import type { Sshd, SshKeys } from './sshd.js';
import { startPool } from './pool.js';

export interface DaemonSocket {
  /** The front end's socket path. */
  socket: string;
  /** The temporary directory holding it, for other files of the benchmark. */
  dir: string;
  close(): Promise<void>;
}

export async function startDaemonSocket(keys: SshKeys, node: Sshd, name: string): Promise<DaemonSocket> {
  const dir = mkdtempSync(path.join(tmpdir(), `ssh-egress-bench-${name}-`));
  const socket = path.join(dir, 'egress.sock');
  const ours = await startPool(keys, [node.spec]);
  const frontend = new HttpConnectFrontend(ours.dialer, { kind: 'unix', path: socket }, { logger: silentLogger() });
  await frontend.listen();
  return {
    socket,
    dir,
    async close() {
      await frontend.close();
      await ours.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
