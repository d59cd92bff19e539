// `npm start` runs `ssh-egress daemon --demo`: the commands it prints must work when pasted.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, test } from 'node:test';

const daemon = spawn('node', ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'daemon', '--demo'], {
  stdio: ['ignore', 'pipe', 'pipe'],
});
let stdout = '';
let stderr = '';
daemon.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
daemon.stderr.on('data', (c: Buffer) => (stderr += c.toString()));

after(() => {
  if (daemon.exitCode === null) daemon.kill('SIGKILL');
});

function sh(command: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', command], { timeout: 30_000 }, (error, out, err) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, out, err }),
    );
  });
}

test('every command the demo prints works when pasted, and Ctrl-C stops it cleanly', async () => {
  const deadline = Date.now() + 30_000;
  while (!/Ctrl-C drains and stops/.test(stdout)) {
    assert.ok(Date.now() < deadline && daemon.exitCode === null, `demo did not start:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Wait for the tunnels, as a person reading the output would.
  while (!(await sh('curl -sf http://127.0.0.1:8132/readyz')).out.startsWith('ok')) await new Promise((r) => setTimeout(r, 100));
  const commands = stdout
    .split('\n')
    .filter((line) => /^ {2}\S/.test(line))
    .map((line) => line.replace(/\s+# .*$/, '').trim());
  assert.ok(commands.length >= 5, `commands printed:\n${stdout}`);
  const results = [];
  for (const command of commands) results.push({ command, ...(await sh(command)) });
  for (const r of results) assert.equal(r.code, 0, `${r.command}\n${r.err}`);
  const [connect, connectKubelet, socks, kubelet, dial, adminPages] = results;
  assert.match(connect!.out, /"node":"n1","addr":"198\.19\.1\.7"/);
  assert.equal(connectKubelet!.out, 'ok');
  assert.match(socks!.out, /"addr":"198\.19\.240\.10"/);
  assert.equal(kubelet!.out, 'ok');
  assert.equal(dial!.out, 'hello\n');
  assert.match(adminPages!.out, /ssh_egress_tunnels\{state="READY"\} 3/);
  daemon.kill('SIGINT');
  const [code] = await once(daemon, 'exit');
  assert.equal(code, 0);
});
