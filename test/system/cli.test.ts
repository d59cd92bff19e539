// The CLI as an operator runs it, against real OpenSSH sshd in the node namespaces: check with one node
// down, one with a wrong host key and one refusing our key; dial as an OpenSSH ProxyCommand through
// another node's tunnel and moving 100 MiB both ways; scan output trusted by OpenSSH; --help everywhere.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import type { NodeCheckResult } from '../../src/check/index.js';
import { exec, isAlive, run as runChecked, signal, waitFor } from './netns.js';
import { fingerprint, sshdFiles, sshKeygen, startSshdIn, writeSshdConfig } from './sshd.js';
import { killSshd, loadTopology, nodeOf, sshdPid, startSshd } from './topology.js';

const t = loadTopology();
const [n1, n2, n3] = [nodeOf(t, 'n1'), nodeOf(t, 'n2'), nodeOf(t, 'n3')];
const work = join(t.dir, 'cli');
const CLI = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts'];

/**
 * A 4th "node" that refuses our key: a second sshd in n3's namespace, on an extra address of n3's link
 * (the inventory wants one address per node) and port 2222, whose authorized_keys is empty.
 */
const refusing = { name: 'n4', address: '198.18.1.13', port: 2222, files: sshdFiles(join(work, 'sshd-n4')), pid: 0, hostPublicKey: '', hostKeyFingerprint: '' };
const inventoryFile = join(work, 'inventory.yaml');
/** Right for n1, n3 and n3-2222; n2's line carries n3's key. */
const knownHostsFile = join(work, 'known_hosts');

before(async () => {
  mkdirSync(refusing.files.dir, { recursive: true });
  const emptyAuthorizedKeys = join(work, 'authorized_keys.empty');
  writeFileSync(emptyAuthorizedKeys, '');
  refusing.hostPublicKey = (await sshKeygen(refusing.files.hostKeyFile, refusing.name)).split(/\s+/).slice(0, 2).join(' ');
  refusing.hostKeyFingerprint = await fingerprint(`${refusing.files.hostKeyFile}.pub`);
  await runChecked('ip', ['-n', n3.namespace, 'addr', 'replace', `${refusing.address}/16`, 'dev', 'eth0']);
  writeSshdConfig(refusing.files, refusing.address, emptyAuthorizedKeys);
  writeFileSync(refusing.files.configFile, readFileSync(refusing.files.configFile, 'utf8').replace(/^Port 22$/m, `Port ${refusing.port}`));
  refusing.pid = await startSshdIn(n3.namespace, refusing.files);

  const nodes = [
    ...t.nodes.map((n) => ({ name: n.name, address: n.address, podCIDRs: [n.podCIDR] })),
    { name: refusing.name, address: refusing.address, sshPort: refusing.port },
  ];
  writeFileSync(inventoryFile, stringify({ nodes }));
  const lines = [
    `n1,${n1.address} ${n1.hostPublicKey}`,
    `n2,${n2.address} ${n3.hostPublicKey}`,
    `n3,${n3.address} ${n3.hostPublicKey}`,
    `[${refusing.address}]:${refusing.port} ${refusing.hostPublicKey}`,
  ];
  writeFileSync(knownHostsFile, `${lines.join('\n')}\n`);
});

after(async () => {
  if (refusing.pid !== 0) {
    signal(refusing.pid, 'SIGTERM');
    await waitFor('the second sshd to exit', () => !isAlive(refusing.pid), 5_000);
  }
  await exec('ip', ['-n', n3.namespace, 'addr', 'del', `${refusing.address}/16`, 'dev', 'eth0']);
  if (sshdPid(t, n1) === undefined) await startSshd(t, n1);
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion with `input` on stdin. */
function run(file: string, args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: { ...process.env, ...env }, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const cli = (args: string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<Run> => run(process.execPath, [...CLI, ...args], input, env);
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** ssh with nothing from the user's or system's config: only this known_hosts file decides. */
function ssh(knownHosts: string, extra: string[], destination: string, command: string): Promise<Run> {
  return run('ssh', [
    '-F', '/dev/null', '-i', t.identityFile, '-o', 'IdentitiesOnly=yes', '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5',
    ...extra, destination, command,
  ]);
}

test('check: one node down, one wrong host key, one refusing our key, the rest fine: exit 1, each in plain words', { timeout: 90_000 }, async () => {
  const common = ['--inventory', inventoryFile, '-l', t.user, '-i', t.identityFile, '--known-hosts', knownHostsFile, '--kubelet-ca', t.kubeletCaFile];
  await killSshd(t, n1, 'SIGKILL', { sessions: true });
  try {
    const json = await cli(['check', ...common, '-o', 'json']);
    assert.equal(json.code, 1, json.stderr);
    const results = JSON.parse(json.stdout) as NodeCheckResult[];
    const byName = new Map(results.map((r) => [r.name, r]));
    assert.deepEqual(results.map((r) => [r.name, r.ok]), [['n1', false], ['n2', false], ['n3', true], [refusing.name, false]]);
    const failed = (name: string) => byName.get(name)!.steps.find((s) => !s.ok && !s.skipped);
    const skippedAfter = (name: string, step: string) => {
      const steps = byName.get(name)!.steps;
      return steps.slice(steps.findIndex((s) => s.name === step) + 1).every((s) => s.skipped && s.ms === null);
    };

    assert.equal(failed('n1')?.name, 'tcp');
    assert.deepEqual(failed('n1')?.error, { code: 'ERR_CONNECT', message: `connection refused (${n1.address}:22)` });
    assert.ok(skippedAfter('n1', 'tcp'));

    assert.equal(failed('n2')?.name, 'handshake');
    assert.deepEqual(failed('n2')?.error, { code: 'ERR_HOST_KEY_MISMATCH', message: `host key mismatch: expected ${n3.hostKeyFingerprint}, got ${n2.hostKeyFingerprint}` });
    assert.equal(byName.get('n2')!.hostKeyFingerprint, n2.hostKeyFingerprint, 'the key it presented');
    assert.ok(skippedAfter('n2', 'handshake'));

    assert.equal(failed(refusing.name)?.name, 'auth');
    assert.deepEqual(failed(refusing.name)?.error, { code: 'ERR_AUTH', message: `authentication refused for user ${t.user}` });
    assert.equal(byName.get(refusing.name)!.hostKeyFingerprint, refusing.hostKeyFingerprint, 'its host key was verified first');

    const ok = byName.get('n3')!;
    assert.deepEqual(ok.steps.map((s) => [s.name, s.ok, s.skipped, s.error]), ['tcp', 'handshake', 'auth', 'channel', 'kubelet'].map((n) => [n, true, false, null]));
    assert.ok(ok.steps.every((s) => typeof s.ms === 'number' && s.ms >= 0));
    assert.equal(ok.hostKeyFingerprint, n3.hostKeyFingerprint);
    assert.equal(ok.kubelet?.status, 200);
    assert.equal(ok.kubelet?.verified, true);
    assert.equal(ok.kubelet?.certificate?.subject, 'CN=n3');
    assert.deepEqual([...ok.kubelet!.certificate!.sans].sort(), ['DNS:n3', `IP:${n3.address}`]);
    assert.ok(ok.kubelet!.certificate!.daysToExpiry >= 363 && ok.kubelet!.certificate!.daysToExpiry <= 365);

    const table = await cli(['check', ...common]);
    assert.equal(table.code, 1, table.stderr);
    assert.equal(table.stderr, '');
    const row = (name: string): string => table.stdout.split('\n').find((l) => l.startsWith(`${name} `)) ?? '';
    assert.match(row('n1'), new RegExp(`^n1\\s+${escape(n1.address)}\\s+failed\\s+-\\s+-\\s+-\\s+-\\s+\\d+ ms\\s+connection refused \\(${escape(n1.address)}:22\\)$`));
    assert.match(row('n2'), new RegExp(`\\s+mismatch\\s+.*host key mismatch: expected ${escape(n3.hostKeyFingerprint)}, got ${escape(n2.hostKeyFingerprint)}$`));
    assert.match(row('n3'), /^n3\s+\S+\s+ok\s+SHA256:\S+\s+ok\s+ok\s+36\d\s+\d+ ms$/);
    assert.match(row(refusing.name), new RegExp(`^${refusing.name}\\s+${escape(refusing.address)}:2222\\s+ok\\s+SHA256:\\S+\\s+refused\\s+.*authentication refused for user root$`));
    assert.match(table.stdout, /\n1 of 4 nodes reachable; failed at tcp: 1, handshake: 1, auth: 1\n$/);
  } finally {
    await startSshd(t, n1);
  }
  const healthy = await cli(['check', '--inventory', t.inventoryFile, '-l', t.user, '-i', t.identityFile, '--known-hosts', t.knownHostsFile, '--kubelet-ca', t.kubeletCaFile]);
  assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
  assert.match(healthy.stdout, /\n3 of 3 nodes reachable\n$/);
});

test('dial as an OpenSSH ProxyCommand opens a shell on n2 through n1\'s tunnel', { timeout: 60_000 }, async () => {
  const proxy = [process.execPath, ...CLI, 'dial', '--inventory', t.inventoryFile, '-l', t.user, '-i', t.identityFile, '--known-hosts', t.knownHostsFile, '--via', 'n1', '%h:%p'].join(' ');
  const r = await ssh(t.knownHostsFile, ['-o', `ProxyCommand=${proxy}`], `${t.user}@n2`, 'ip -o addr; echo "from $SSH_CLIENT"');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`inet ${escape(n2.address)}/16`), 'the shell ran on n2');
  // n2's sshd saw the connection come from n1, not from the control plane: it went through n1's tunnel.
  assert.match(r.stdout, new RegExp(`^from ${escape(n1.address)} \\d+ 22$`, 'm'));
});

test('dial moves 100 MiB both ways intact (sha256), through the pod echo port', { timeout: 180_000 }, async () => {
  const target = `${n2.podIPs[0]}:${t.ports.echo}`;
  const child = spawn(process.execPath, [...CLI, 'dial', '--inventory', t.inventoryFile, '-l', t.user, '-i', t.identityFile, '--known-hosts', t.knownHostsFile, target], { stdio: 'pipe' });
  const sent = createHash('sha256');
  const received = createHash('sha256');
  let receivedBytes = 0;
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    received.update(chunk);
    receivedBytes += chunk.length;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
  const MiB = 1024 * 1024;
  const started = performance.now();
  for (let i = 0; i < 100; i++) {
    const chunk = randomBytes(MiB);
    sent.update(chunk);
    if (!child.stdin.write(chunk)) await new Promise((resolve) => child.stdin.once('drain', resolve));
  }
  child.stdin.end();
  const code = await exited;
  const seconds = (performance.now() - started) / 1000;
  console.log(`# dial: 100 MiB each way through ${n2.name} in ${seconds.toFixed(1)} s`);
  assert.equal(code, 0, stderr);
  assert.equal(receivedBytes, 100 * MiB);
  assert.equal(received.digest('hex'), sent.digest('hex'));
});

test('scan output is a known_hosts file OpenSSH trusts, plain and hashed, [address]:port form included', { timeout: 90_000 }, async () => {
  for (const hash of [false, true]) {
    const r = await cli(['scan', '--inventory', inventoryFile, ...(hash ? ['--hash'] : [])]);
    assert.equal(r.code, 0, r.stderr);
    const file = join(work, hash ? 'known_hosts.scan-hashed' : 'known_hosts.scan');
    writeFileSync(file, r.stdout);
    if (hash) {
      const lines = r.stdout.trim().split('\n');
      assert.equal(lines.length, 8, 'one line per name');
      // Only the host field: a key's base64 may contain "n1" by chance.
      for (const line of lines) assert.match(line.split(' ')[0]!, /^\|1\|[A-Za-z0-9+/]+=*\|[A-Za-z0-9+/]+=*$/, 'no name in clear');
    } else {
      assert.match(r.stdout, new RegExp(`^n1,${escape(n1.address)} ${escape(n1.hostPublicKey)}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^\\[${refusing.name}\\]:2222,\\[${escape(refusing.address)}\\]:2222 ${escape(refusing.hostPublicKey)}$`, 'm'));
    }
    for (const n of t.nodes) {
      assert.match(r.stderr, new RegExp(`^# ${escape(n.hostKeyFingerprint)} ${n.name} \\(ssh-ed25519\\)$`, 'm'));
      for (const [destination, extra] of [[`${t.user}@${n.address}`, []], [`${t.user}@${n.name}`, ['-o', `HostName=${n.address}`]]] as const) {
        const login = await ssh(file, [...extra], destination, 'hostname -I');
        assert.equal(login.code, 0, `${destination} with ${file}: ${login.stderr}`);
        assert.match(login.stdout, new RegExp(escape(n.address)));
      }
    }
    // The [address]:2222 line: the host key is accepted, so what fails is only our key (empty authorized_keys).
    const at2222 = await ssh(file, ['-p', '2222'], `${t.user}@${refusing.address}`, 'true');
    assert.notEqual(at2222.code, 0);
    assert.match(at2222.stderr, /Permission denied \(publickey\)/);
    assert.doesNotMatch(at2222.stderr, /Host key verification failed|REMOTE HOST IDENTIFICATION/);
  }
});

test('--help of every command exits 0 and shows examples', { timeout: 60_000 }, async () => {
  for (const command of [[], ['check'], ['scan'], ['status'], ['dial'], ['keygen'], ['daemon']]) {
    const r = await cli([...command, '--help']);
    assert.equal(r.code, 0, `${command.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, /^Usage: ssh-egress/);
    assert.match(r.stdout, /\nExamples:\n {2}\S/, `${command.join(' ') || 'ssh-egress'} --help has examples`);
  }
});
