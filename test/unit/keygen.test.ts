import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { ConfigError } from '../../src/errors.js';
import { generateKeyPair, type GeneratedKeyPair, type GenerateKeyPairOptions } from '../../src/keys/keygen.js';
import { generateEd25519Key } from '../../src/keys/ed25519.js';
import { loadPrivateKey } from '../../src/hostkeys/private-key.js';

const dir = mkdtempSync(join(tmpdir(), 'keygen-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** Writes the pair as ssh-keygen would find it; returns the private key's path. */
function save(pair: GeneratedKeyPair): string {
  const file = join(dir, `key${n++}`);
  writeFileSync(file, pair.privateKey, { mode: 0o600 });
  writeFileSync(`${file}.pub`, `${pair.publicKey}\n`);
  return file;
}

/** What OpenSSH derives from the private key: `ssh-keygen -y` prints the public key (type and base64). */
function opensshPublic(file: string, passphrase = ''): string {
  return execFileSync('ssh-keygen', ['-y', '-P', passphrase, '-f', file], { encoding: 'utf8', stdio: 'pipe' }).trim().split(' ').slice(0, 2).join(' ');
}

const PASSPHRASE = 'correct horse battery staple';

describe('generateKeyPair', () => {
  const cases: { name: string; options: GenerateKeyPairOptions; type: string; bits: number; begin: RegExp }[] = [
    { name: 'default ed25519', options: {}, type: 'ssh-ed25519', bits: 256, begin: /^-----BEGIN OPENSSH PRIVATE KEY-----\n/ },
    { name: 'ed25519 with comment', options: { type: 'ed25519', comment: 'egress@cp 1' }, type: 'ssh-ed25519', bits: 256, begin: /^-----BEGIN OPENSSH/ },
    { name: 'rsa default 3072', options: { type: 'rsa', comment: 'egress@cp' }, type: 'ssh-rsa', bits: 3072, begin: /^-----BEGIN RSA PRIVATE KEY-----\nMII/ },
    { name: 'rsa 4096', options: { type: 'rsa', bits: 4096 }, type: 'ssh-rsa', bits: 4096, begin: /^-----BEGIN RSA PRIVATE KEY-----\n/ },
  ];
  for (const c of cases) {
    it(`${c.name}: ssh2 and ssh-keygen read both halves, the fingerprint is OpenSSH's`, async () => {
      const pair = await generateKeyPair(c.options);
      assert.equal(pair.bits, c.bits);
      assert.match(pair.privateKey, c.begin);
      assert.doesNotMatch(pair.privateKey, /\r/);
      assert.ok(pair.privateKey.endsWith('-----\n'));
      const [type, blob, ...comment] = pair.publicKey.split(' ');
      assert.equal(type, c.type);
      assert.equal(comment.join(' '), c.options.comment ?? '');
      assert.doesNotMatch(pair.publicKey, /\n|\s$/);

      const priv = ssh2.utils.parseKey(pair.privateKey);
      assert.ok(!(priv instanceof Error) && !Array.isArray(priv) && priv.isPrivateKey());
      assert.equal(priv.getPublicSSH().toString('base64'), blob);
      const file = save(pair);
      assert.equal(opensshPublic(file), `${type} ${blob}`);
      const listed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ');
      assert.equal(listed[0], String(c.bits));
      assert.equal(listed[1], pair.fingerprint);
      // The tunnels' own loader takes it (0600, unencrypted).
      assert.equal((await loadPrivateKey({ identityFile: file })).passphrase, undefined);
    });
  }

  for (const type of ['ed25519', 'rsa'] as const) {
    it(`${type} with a passphrase: encrypted, and readable only with it`, async () => {
      const pair = await generateKeyPair({ type, passphrase: PASSPHRASE, comment: 'enc' });
      assert.ok(!pair.privateKey.includes(PASSPHRASE));
      const noPass = ssh2.utils.parseKey(pair.privateKey);
      assert.ok(noPass instanceof Error && /no passphrase given/.test(noPass.message), 'ssh2 wants the passphrase');
      assert.ok(ssh2.utils.parseKey(pair.privateKey, 'wrong') instanceof Error);
      const file = save(pair);
      assert.equal(opensshPublic(file, PASSPHRASE), pair.publicKey.split(' ').slice(0, 2).join(' '));
      assert.throws(() => opensshPublic(file, 'wrong'));
      if (type === 'rsa') assert.match(pair.privateKey, /^Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,/m);
      else assert.ok(!(ssh2.utils.parseKey(pair.privateKey, PASSPHRASE) instanceof Error));
      const loaded = await loadPrivateKey({ identityFile: file, passphrase: PASSPHRASE });
      assert.equal(loaded.passphrase, PASSPHRASE);
    });
  }

  it('an empty passphrase means none', async () => {
    const pair = await generateKeyPair({ passphrase: '' });
    assert.ok(!(ssh2.utils.parseKey(pair.privateKey) instanceof Error));
  });

  it('two calls make two different keys', async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    assert.notEqual(a!.fingerprint, b!.fingerprint);
  });

  it('refuses bad options with ConfigError naming the field', async () => {
    const cases: { options: unknown; message: string }[] = [
      { options: { type: 'dsa' }, message: 'type: "dsa" is not a key type (expected ed25519 or rsa)' },
      { options: { type: 'rsa', bits: 2048 }, message: 'bits: RSA keys need 3072 to 16384 bits, got 2048' },
      { options: { type: 'rsa', bits: 32768 }, message: 'bits: RSA keys need 3072 to 16384 bits, got 32768' },
      { options: { type: 'rsa', bits: 3072.5 }, message: 'bits: RSA keys need 3072 to 16384 bits, got 3072.5' },
      { options: { bits: 4096 }, message: 'bits: only RSA keys take a size; ed25519 keys are 256 bits' },
      // A newline would smuggle a second line into authorized_keys.
      { options: { comment: 'a\nssh-ed25519 AAAA evil' }, message: 'comment: must be text on one line, without control characters' },
      { options: { comment: 'tab\there' }, message: 'comment: must be text on one line, without control characters' },
      { options: { passphrase: 42 }, message: 'passphrase: must be a string' },
    ];
    for (const c of cases) {
      await assert.rejects(generateKeyPair(c.options as GenerateKeyPairOptions), (err: unknown) => {
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.message, c.message);
        return true;
      });
    }
  });
});

describe('generateEd25519Key', () => {
  it('never returns a key ssh2 cannot parse (about 1 raw ssh2 key in 256 is malformed)', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateEd25519Key();
      assert.ok(!(ssh2.utils.parseKey(pair.privateKey) instanceof Error));
      assert.ok(!(ssh2.utils.parseKey(pair.publicKey) instanceof Error));
    }
  });
});
