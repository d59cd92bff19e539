import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { ConfigError, HostKeyMismatchError, HostKeyRevokedError, KnownHostsError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { node as nodeSpec } from './fake-connector.js';
import { fingerprintOf } from '../../src/hostkeys/fingerprint.js';
import { createHostKeyVerifier, type HostKeyVerdict } from '../../src/hostkeys/host-key-verifier.js';
import { KnownHosts } from '../../src/hostkeys/known-hosts.js';
import { loadHostKeyPolicy } from '../../src/tunnel/pool-credentials.js';
import { resolvePoolOptions } from '../../src/tunnel/pool-options.js';
import { TrustOnFirstUseFile } from '../../src/hostkeys/trust-on-first-use.js';
import { captureLogger } from './capture-logger.js';

interface Key {
  text: string;
  blob: Buffer;
  fp: string;
}

const dir = mkdtempSync(join(tmpdir(), 'tofu-test-'));
const keys: Key[] = [];
let fileCount = 0;

before(() => {
  // Real keys from ssh-keygen, so that OpenSSH's own parser can read what we write.
  for (let i = 0; i < 3; i++) {
    const file = join(dir, `host_key_${i}`);
    execFileSync('ssh-keygen', ['-q', '-t', i === 1 ? 'ecdsa' : 'ed25519', '-N', '', '-f', file]);
    const [type = '', base64 = ''] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    const blob = Buffer.from(base64, 'base64');
    keys.push({ text: `${type} ${base64}`, blob, fp: fingerprintOf(blob) });
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const key = (i: number): Key => keys[i] as Key;
const freshPath = (): string => join(dir, `tofu-${++fileCount}`);

const node = (overrides: Partial<NodeSpec> = {}): NodeSpec => nodeSpec('n1', overrides);

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
}

function refusedWith(verdict: HostKeyVerdict, type: new (...args: never[]) => Error): Error {
  assert.equal(verdict.ok, false, 'must be refused');
  assert.ok(!verdict.ok && verdict.error instanceof type, !verdict.ok ? `${verdict.error.name}: ${verdict.error.message}` : '');
  return verdict.error;
}

/** `ssh-keygen -F host -f file`: OpenSSH's own lookup. Returns the key lines it found. */
function sshKeygenFind(host: string, file: string): string[] {
  try {
    return execFileSync('ssh-keygen', ['-F', host, '-f', file], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
  } catch {
    return []; // exit 1: not found
  }
}

describe('trust on first use', () => {
  it('records the first key once, then enforces it in this process and in a new one', () => {
    const path = freshPath();
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    const verify = createHostKeyVerifier(node(), { trustOnFirstUse: store });
    assert.deepEqual(verify(key(0).blob), { ok: true, fingerprint: key(0).fp, recorded: true });
    assert.deepEqual(verify(key(0).blob), { ok: true, fingerprint: key(0).fp }, 'known now: not recorded again');
    const err = refusedWith(verify(key(1).blob), HostKeyMismatchError);
    assert.match(err.message, new RegExp(`expected ${escape(key(0).fp)}, got ${escape(key(1).fp)}`));
    assert.deepEqual(lines(path), [`n1,198.18.0.11 ${key(0).text}`]);

    // Another pool or process on the same file, and a verifier made later in this one.
    const again = TrustOnFirstUseFile.open(path, silentLogger());
    refusedWith(createHostKeyVerifier(node(), { trustOnFirstUse: again })(key(1).blob), HostKeyMismatchError);
    refusedWith(createHostKeyVerifier(node(), { trustOnFirstUse: store })(key(2).blob), HostKeyMismatchError);
    assert.equal(lines(path).length, 1);
  });

  it('a key another process records after our store was read is enforced, not duplicated', () => {
    const path = freshPath();
    const ours = TrustOnFirstUseFile.open(path, silentLogger());
    const verify = createHostKeyVerifier(node(), { trustOnFirstUse: ours });
    const theirs = TrustOnFirstUseFile.open(path, silentLogger());
    assert.equal(createHostKeyVerifier(node(), { trustOnFirstUse: theirs })(key(0).blob).ok, true);
    refusedWith(verify(key(1).blob), HostKeyMismatchError);
    assert.equal(lines(path).length, 1);
  });

  it('creates the file 0600 and keeps it so', () => {
    const path = freshPath();
    const umask = process.umask(0); // a permissive umask must not loosen it
    try {
      TrustOnFirstUseFile.open(path, silentLogger()).record(node(), key(0).blob);
    } finally {
      process.umask(umask);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  it('appends to an existing file, even one whose last line has no newline', () => {
    const path = freshPath();
    const existing = `# hand-written\nn9 ${key(2).text}`;
    writeFileSync(path, existing, { mode: 0o644 });
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    assert.equal(createHostKeyVerifier(node({ name: 'n9', address: '198.18.0.19' }), { trustOnFirstUse: store })(key(2).blob).ok, true);
    store.record(node(), key(0).blob);
    store.record(node({ name: 'n2', address: '198.18.0.12' }), key(1).blob);
    assert.equal(readFileSync(path, 'utf8'), `${existing}\nn1,198.18.0.11 ${key(0).text}\nn2,198.18.0.12 ${key(1).text}\n`);
    assert.equal(statSync(path).mode & 0o777, 0o644, 'an existing file keeps its (safe) mode');
  });

  it('writes lines OpenSSH reads: ssh-keygen -F finds each name, [host]:port off port 22', () => {
    const path = freshPath();
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    store.record(node(), key(0).blob);
    store.record(node({ name: 'n2', address: '198.18.0.12', sshPort: 2222 }), key(1).blob);
    assert.deepEqual(lines(path), [`n1,198.18.0.11 ${key(0).text}`, `[n2]:2222,[198.18.0.12]:2222 ${key(1).text}`]);
    const [first, second] = lines(path);
    for (const [host, line] of [['n1', first], ['198.18.0.11', first], ['[n2]:2222', second], ['[198.18.0.12]:2222', second]]) {
      assert.deepEqual(sshKeygenFind(host!, path), [line], host);
    }
    assert.deepEqual(sshKeygenFind('198.18.0.12', path), [], 'port 22 is another host');
    const printed = execFileSync('ssh-keygen', ['-l', '-f', path], { encoding: 'utf8' });
    assert.ok(printed.includes(key(0).fp) && printed.includes(key(1).fp));
  });

  it('many first connects (hostVerifiers run on one thread, appends are sync) leave one intact line each', () => {
    const path = freshPath();
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    const nodes = Array.from({ length: 100 }, (_, i) => node({ name: `w${i}`, address: `198.18.1.${i}` }));
    const verifiers = nodes.map((n) => createHostKeyVerifier(n, { trustOnFirstUse: store }));
    verifiers.forEach((verify, i) => assert.equal(verify(key(i % 3).blob).ok, true));
    const reread = KnownHosts.parse(readFileSync(path, 'utf8'));
    assert.deepEqual(reread.warnings, []);
    assert.equal(reread.size, 100);
    nodes.forEach((n, i) => assert.equal(reread.lookup(n.address, 22).trusted[0]?.fingerprint, key(i % 3).fp));
  });

  it('logs each addition at warn level with node and fingerprint', async () => {
    const { logger, entries } = captureLogger();
    const store = TrustOnFirstUseFile.open(freshPath(), logger);
    const verify = createHostKeyVerifier(node(), { trustOnFirstUse: store });
    verify(key(0).blob);
    verify(key(0).blob);
    await tick();
    const added = entries.filter((e) => /recorded a new host key/.test(e.message));
    assert.equal(added.length, 1);
    assert.equal(added[0]?.level, 'warn');
    assert.equal(added[0]?.node, 'n1');
    assert.equal(added[0]?.fingerprint, key(0).fp);
  });

  it('never records over other trust: pins, known_hosts lines, @revoked, @cert-authority', () => {
    const path = freshPath();
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    const kh = (text: string): KnownHosts => KnownHosts.parse(text, '/test/known_hosts');
    const pinned = createHostKeyVerifier(node({ hostKeyFingerprints: [key(0).fp] }), { trustOnFirstUse: store });
    refusedWith(pinned(key(1).blob), HostKeyMismatchError);
    const listed = createHostKeyVerifier(node(), { knownHosts: kh(`198.18.0.11 ${key(0).text}`), trustOnFirstUse: store });
    assert.deepEqual(listed(key(0).blob), { ok: true, fingerprint: key(0).fp });
    refusedWith(listed(key(1).blob), HostKeyMismatchError);
    const revoked = createHostKeyVerifier(node(), { knownHosts: kh(`@revoked * ${key(1).text}`), trustOnFirstUse: store });
    refusedWith(revoked(key(1).blob), HostKeyRevokedError);
    const ca = createHostKeyVerifier(node(), { knownHosts: kh(`@cert-authority * ${key(2).text}`), trustOnFirstUse: store });
    assert.match(refusedWith(ca(key(1).blob), KnownHostsError).message, /@cert-authority in \/test\/known_hosts:1 cannot be honoured/);
    assert.deepEqual(lines(path), []);
  });

  it('a recorded key that is later @revoked is refused', () => {
    const store = TrustOnFirstUseFile.open(freshPath(), silentLogger());
    store.record(node(), key(0).blob);
    const kh = KnownHosts.parse(`@revoked * ${key(0).text}`, '/test/known_hosts');
    refusedWith(createHostKeyVerifier(node(), { knownHosts: kh, trustOnFirstUse: store })(key(0).blob), HostKeyRevokedError);
  });

  it('refuses a file group or others can write, at open and when it becomes so later', () => {
    const path = freshPath();
    writeFileSync(path, '', { mode: 0o600 });
    chmodSync(path, 0o664);
    assert.throws(() => TrustOnFirstUseFile.open(path, silentLogger()), (err: Error) => {
      assert.ok(err instanceof KnownHostsError);
      assert.match(err.message, new RegExp(`${escape(path)} is writable by group or others \\(mode 0664\\)`));
      return true;
    });
    chmodSync(path, 0o600);
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    chmodSync(path, 0o602);
    const err = refusedWith(createHostKeyVerifier(node(), { trustOnFirstUse: store })(key(0).blob), KnownHostsError);
    assert.match(err.message, /mode 0602/);
    assert.deepEqual(lines(path), []);
  });

  it('an operator removing a line lets the node be trusted anew (rolling a host key)', () => {
    const path = freshPath();
    const store = TrustOnFirstUseFile.open(path, silentLogger());
    store.record(node(), key(0).blob);
    store.record(node({ name: 'n2', address: '198.18.0.12' }), key(1).blob);
    writeFileSync(path, lines(path).filter((l) => !l.startsWith('n1,')).join('\n') + '\n');
    assert.deepEqual(createHostKeyVerifier(node(), { trustOnFirstUse: store })(key(2).blob), {
      ok: true,
      fingerprint: key(2).fp,
      recorded: true,
    });
  });

  it('a path that cannot be created fails with a KnownHostsError naming it', () => {
    const missingDir = join(dir, 'no-such-dir', 'tofu');
    assert.throws(() => TrustOnFirstUseFile.open(missingDir, silentLogger()), /trust-on-first-use file .*no-such-dir\/tofu cannot be created \(ENOENT\)/);
  });
});

describe('loadHostKeyPolicy with trustOnFirstUseFile', () => {
  const options = (extra: object) => resolvePoolOptions({ user: 'root', identityFile: '/unused', ...extra });

  it('reads known_hosts and the first-use file together', async () => {
    const knownHostsFile = freshPath();
    writeFileSync(knownHostsFile, `n2 ${key(1).text}\n`);
    const trustOnFirstUseFile = freshPath();
    writeFileSync(trustOnFirstUseFile, `n1 ${key(0).text}\n`, { mode: 0o600 });
    const policy = await loadHostKeyPolicy(options({ knownHostsFile, trustOnFirstUseFile }), silentLogger())();
    const n2 = node({ name: 'n2', address: '198.18.0.12' });
    assert.equal(createHostKeyVerifier(node(), policy)(key(0).blob).ok, true);
    assert.equal(createHostKeyVerifier(n2, policy)(key(1).blob).ok, true);
    refusedWith(createHostKeyVerifier(n2, policy)(key(0).blob), HostKeyMismatchError);
    const n3 = createHostKeyVerifier(node({ name: 'n3', address: '198.18.0.13' }), policy)(key(2).blob);
    assert.deepEqual(n3, { ok: true, fingerprint: key(2).fp, recorded: true });
  });

  it('refuses insecureIgnoreHostKeys together with trust on first use, naming the field', () => {
    assert.throws(
      () => options({ insecureIgnoreHostKeys: true, trustOnFirstUseFile: freshPath() }),
      (err: Error) => err instanceof ConfigError && /^trustOnFirstUseFile: cannot be combined with insecureIgnoreHostKeys/.test(err.message),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
