// Reverse tunnels for the benchmarks: a pool whose node takes agents (`tunnel: reverse`), our AgentServer
// attached to it on 127.0.0.1:<free port>, and the node's agent dialling in from its own process: stock
// OpenSSH `ssh -N -R 0` (cipher pinned with -c, as for sshd) or `ssh-egress agent`.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrCreateAgentHostKey } from '../../src/ssh/agent-host-key.js';
import { AgentServer } from '../../src/ssh/agent-server.js';
import { startPool, type BenchPool } from './pool.js';
import { start, stop } from './proc.js';
import { CIPHER, type Sshd, type SshKeys } from './sshd.js';

export type AgentKind = 'openssh' | 'ours';

export interface ReversePool extends BenchPool {
  /** The agent process (ssh, or node running `ssh-egress agent`). */
  agentPid: number;
}

const CLI = fileURLToPath(new URL('../../bin/ssh-egress.ts', import.meta.url));

/** The agent's argv: node `node` dials the listener on 127.0.0.1:port as itself, with the bench's client key. */
function agentCommand(kind: AgentKind, keys: SshKeys, node: string, port: number, knownHostsFile: string): [string, string[]] {
  if (kind === 'ours') {
    const args = ['agent', '--server', `127.0.0.1:${port}`, '--name', node, '-i', keys.identityFile, '--known-hosts', knownHostsFile, '--allow', '127.0.0.1/32', '--log-level', 'error'];
    return [process.execPath, ['--import', 'tsx', CLI, ...args]];
  }
  return [
    '/usr/bin/ssh',
    [
      '-F', '/dev/null',
      '-i', keys.identityFile,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'LogLevel=ERROR',
      '-o', 'ExitOnForwardFailure=yes',
      '-c', CIPHER,
      '-N', '-R', '0',
      '-p', String(port),
      `${node}@127.0.0.1`,
    ],
  ];
}

/**
 * A pool with `node` as a reverse node (the bench's client key as its agent key), READY once the agent has
 * registered and answered the SOCKS5 probe. Streams go to the peer's servers from the agent's process.
 */
export async function startReversePool(keys: SshKeys, node: Sshd, kind: AgentKind): Promise<ReversePool> {
  const agentKey = readFileSync(`${keys.identityFile}.pub`, 'utf8').trim();
  const hostKey = await loadOrCreateAgentHostKey(path.join(keys.dir, 'agent_host_key'));
  let server: AgentServer | undefined;
  let agent: ReturnType<typeof start> | undefined;
  const closeAgentSide = async (): Promise<void> => {
    if (agent) await stop(agent);
    await server?.close();
  };
  let bench: BenchPool;
  try {
    bench = await startPool(keys, [{ ...node.spec, tunnel: 'reverse', agentKeys: [agentKey] }], {}, async (pool) => {
      server = new AgentServer({ hostKey: hostKey.privateKey, lookupNode: pool.agentNode });
      pool.attachAgentServer(server);
      const { port } = await server.listen(0, '127.0.0.1');
      const knownHostsFile = path.join(keys.dir, `agent_known_hosts.${port}`);
      writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey.publicKeyLine}\n`);
      const [file, args] = agentCommand(kind, keys, node.name, port, knownHostsFile);
      agent = start(file, args);
    });
  } catch (err) {
    await closeAgentSide();
    throw err;
  }
  return {
    ...bench,
    agentPid: agent!.pid as number,
    close: async () => {
      await bench.close();
      await closeAgentSide();
    },
  };
}
