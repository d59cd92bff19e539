// `ssh-egress agent` as a process: --help, flag errors (exit 2, naming the flag), and SIGTERM against a real AgentServer.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nextRegistration, startAgentServer } from './agent-harness.js';
import { AgentTestKeys } from './agent-test-keys.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'agent'];
const keys = new AgentTestKeys();
const agentKey = keys.key('agent');
after(() => keys.remove());

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function agent(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve) => {
    const environment = { ...process.env, NODE_NAME: undefined, ...env };
    execFile(process.execPath, [...CLI, ...args], { cwd: ROOT, env: environment, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const REQUIRED = ['--server', '127.0.0.1:8022', '--name', 'n1', '-i', agentKey.privateFile, '--known-hosts', '/dev/null'];

describe('ssh-egress agent (CLI)', () => {
  it('--help lists the flags, the default policy and examples', async () => {
    const r = await agent(['--help']);
    assert.equal(r.code, 0, r.stderr);
    for (const flag of ['--server <host:port>', '--name <node>', '-i, --identity <file>', '--known-hosts <file>', '--allow <cidr[:ports]>', '--pod-cidr <cidr>', '--service-cidr <cidr>', '(env: NODE_NAME)']) {
      assert.ok(r.stdout.includes(flag), `help mentions ${flag}`);
    }
    assert.match(r.stdout, /--allow replaces all of that/);
    assert.match(r.stdout, /Examples:\n {2}ssh-egress agent --server/);
  });

  it('refuses bad flags with exit status 2 and a message naming the flag', async () => {
    const cases: [string[], RegExp][] = [
      [['--server', 'cp.example', '--name', 'n1', '-i', 'k', '--known-hosts', 'kh'], /option '--server <host:port>' argument 'cp\.example' is invalid\. not host:port/],
      [['--server', 'cp.example:0', '--name', 'n1', '-i', 'k', '--known-hosts', 'kh'], /'--server <host:port>' argument 'cp\.example:0' is invalid/],
      [['--server', 'cp:8022', '-i', 'k', '--known-hosts', 'kh'], /required option '--name <node>' not specified/],
      [['--server', 'cp:8022', '--name', 'Node_1', '-i', 'k', '--known-hosts', 'kh'], /'--name <node>' argument 'Node_1' is invalid\. not a node name/],
      [['--name', 'n1', '-i', 'k', '--known-hosts', 'kh'], /required option '--server <host:port>' not specified/],
      [[...REQUIRED, '--allow', '10.0.0.0/8:99999'], /'--allow <cidr\[:ports\]>' argument '10\.0\.0\.0\/8:99999' is invalid\. .*"99999", which is not a port or port range/],
      [[...REQUIRED, '--pod-cidr', '10.244.1.7'], /'--pod-cidr <cidr>' argument '10\.244\.1\.7' is invalid\. not a CIDR \(write 10\.244\.1\.7\/32 for one address\)/],
      [[...REQUIRED, '--keepalive-interval', '0'], /'--keepalive-interval <ms>' argument '0' is invalid/],
      [['--server', 'cp:8022', '--name', 'n1', '-i', '/nonexistent/key', '--known-hosts', 'kh'], /ssh-egress agent: private key \/nonexistent\/key does not exist/],
      [[...REQUIRED.slice(0, -1), '/nonexistent/known_hosts'], /ssh-egress agent: known_hosts file \/nonexistent\/known_hosts does not exist/],
    ];
    for (const [args, message] of cases) {
      const r = await agent(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });

  it('takes the node name from NODE_NAME, registers, and leaves cleanly on SIGTERM (exit 0)', async () => {
    const listening = await startAgentServer(keys, { lookupNode: (name) => (name === 'n1' ? { agentKeys: [agentKey.publicLine] } : undefined) });
    try {
      const registered = nextRegistration(listening.server, 'n1');
      const args = ['--server', `127.0.0.1:${listening.port}`, '-i', agentKey.privateFile, '--known-hosts', listening.knownHostsFile, '--log-format', 'text'];
      const child = spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, env: { ...process.env, NODE_NAME: 'n1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = once(child, 'exit');
      await registered;
      const unregistered = once(listening.server, 'unregistration');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, stderr);
      await unregistered;
      assert.match(stderr, /reverse forward registered/);
      assert.match(stderr, /agent stopped/);
      assert.doesNotMatch(stderr, /PRIVATE KEY/);
    } finally {
      await listening.server.close();
    }
  });
});
