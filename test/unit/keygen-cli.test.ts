import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'keygen-cli-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function keygen(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  const argv = ['--conditions=source', '--import', 'tsx', 'bin/ssh-egress.ts', 'keygen', ...args];
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Nothing that belongs to the private key or the passphrase may appear on stdout or stderr. */
function assertNoSecrets(r: Result, privateKeyFile: string | undefined, passphrase?: string): void {
  const out = r.stdout + r.stderr;
  assert.doesNotMatch(out, /PRIVATE KEY|Proc-Type|DEK-Info/);
  if (passphrase) assert.ok(!out.includes(passphrase), 'passphrase printed');
  if (privateKeyFile) {
    for (const line of readFileSync(privateKeyFile, 'utf8').split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----'))) {
      assert.ok(!out.includes(line), 'private key material printed');
    }
  }
}

const PASSPHRASE = 'pass phrase: s3cret';

describe('ssh-egress keygen', () => {
  it('writes an ed25519 pair and prints the authorized_keys line, then the fingerprint as a # line', async () => {
    const file = join(dir, 'id_ed25519');
    const r = await keygen(['-f', file, '-C', 'egress@cp']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const [line, info, rest] = r.stdout.split('\n');
    assert.equal(`${line}\n`, readFileSync(`${file}.pub`, 'utf8'));
    assert.match(line!, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\S+ egress@cp$/);
    const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).trim();
    assert.equal(info, `# ${listed}; private key ${file}, public key ${file}.pub`);
    assert.equal(rest, '');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assertNoSecrets(r, file);
  });

  it('rsa with a passphrase from the environment or a file; the passphrase is never printed', async () => {
    const fromEnv = join(dir, 'id_rsa_env');
    const fromFile = join(dir, 'id_rsa_file');
    const passFile = join(dir, 'passphrase');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const [a, b] = await Promise.all([
      keygen(['-t', 'rsa', '-b', '3072', '-f', fromEnv, '--passphrase-env', 'KEY_PASS'], { KEY_PASS: PASSPHRASE }),
      keygen(['-t', 'rsa', '-f', fromFile, '--passphrase-file', passFile, '-C', '']),
    ]);
    for (const [r, file] of [[a, fromEnv], [b, fromFile]] as const) {
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^ssh-rsa AAAAB3NzaC1yc2E\S+/);
      assert.match(r.stdout.split('\n')[1]!, /^# 3072 SHA256:\S+ .*\(RSA\); private key /);
      assertNoSecrets(r, file, PASSPHRASE);
      // Encrypted: OpenSSH needs the passphrase, without the file's trailing newline.
      const pub = execFileSync('ssh-keygen', ['-y', '-P', PASSPHRASE, '-f', file], { encoding: 'utf8' }).trim();
      assert.equal(pub, readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '));
    }
    assert.equal(readFileSync(`${fromFile}.pub`, 'utf8').trim().split(' ').length, 2, '-C "" leaves no comment');
  });

  it('refuses to overwrite without --force (exit 1), replaces with it', async () => {
    const file = join(dir, 'twice');
    assert.equal((await keygen(['-f', file])).code, 0);
    const before = readFileSync(file, 'utf8');
    const again = await keygen(['-f', file]);
    assert.equal(again.code, 1);
    assert.equal(again.stdout, '');
    assert.equal(again.stderr, `ssh-egress keygen: ${file} already exists; not overwriting it without force (--force)\n`);
    assert.equal(readFileSync(file, 'utf8'), before);
    const forced = await keygen(['-f', file, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.notEqual(readFileSync(file, 'utf8'), before);
  });

  it('defaults to ~/.ssh/id_<type>, creating ~/.ssh 0700', async () => {
    const home = join(dir, 'home');
    const r = await keygen([], { HOME: home });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(statSync(join(home, '.ssh')).mode & 0o777, 0o700);
    assert.equal(statSync(join(home, '.ssh', 'id_ed25519')).mode & 0o777, 0o600);
    assert.match(r.stdout, new RegExp(`private key ${join(home, '.ssh', 'id_ed25519')},`));
  });

  it('usage errors exit 2 and write nothing', async () => {
    const empty = join(dir, 'empty-passphrase');
    writeFileSync(empty, '\n');
    const file = join(dir, 'never');
    const cases: { args: string[]; env?: NodeJS.ProcessEnv; stderr: RegExp }[] = [
      { args: ['-t', 'dsa'], stderr: /argument 'dsa' is invalid. Allowed choices are ed25519, rsa/ },
      { args: ['-t', 'rsa', '-b', '2048'], stderr: /bits: RSA keys need 3072 to 16384 bits, got 2048/ },
      { args: ['-b', '4096'], stderr: /bits: only RSA keys take a size/ },
      { args: ['-t', 'rsa', '-b', 'many'], stderr: /not a positive whole number/ },
      { args: ['-C', 'a\nb'], stderr: /comment: must be text on one line/ },
      { args: ['--passphrase-env', 'X', '--passphrase-file', empty], stderr: /cannot be used with option '--passphrase-env/ },
      { args: ['--passphrase-env', 'SSH_EGRESS_TEST_UNSET'], stderr: /--passphrase-env: SSH_EGRESS_TEST_UNSET is not set/ },
      { args: ['--passphrase-env', 'EMPTY'], env: { EMPTY: '' }, stderr: /environment variable EMPTY is empty/ },
      { args: ['--passphrase-file', empty], stderr: /passphrase file .* is empty/ },
      { args: ['--passphrase-file', join(dir, 'missing')], stderr: /--passphrase-file: cannot read .*missing \(ENOENT\)/ },
      { args: ['--passphrase'], stderr: /unknown option '--passphrase'/ },
    ];
    const results = await Promise.all(cases.map((c) => keygen(['-f', file, ...c.args], c.env)));
    results.forEach((r, i) => {
      const c = cases[i]!;
      assert.equal(r.code, 2, `${c.args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, c.stderr, c.args.join(' '));
      assert.equal(r.stdout, '');
    });
    assert.throws(() => statSync(file), /ENOENT/);
  });
});
