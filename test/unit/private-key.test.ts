import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { KeyError } from '../../src/errors.js';
import { loadPrivateKey, type PrivateKeySource } from '../../src/hostkeys/private-key.js';

const dir = mkdtempSync(join(tmpdir(), 'private-key-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PASSPHRASE = 'correct horse battery staple';

/** ssh-keygen writes keys 0600; `format` picks OpenSSH's own, legacy PEM or PKCS#8. */
function keygen(name: string, type: string, passphrase = '', format?: 'PEM' | 'PKCS8'): string {
  const file = join(dir, name);
  const extra = [...(type === 'rsa' ? ['-b', '2048'] : []), ...(format ? ['-m', format] : [])];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...extra, '-N', passphrase, '-C', 'test', '-f', file]);
  return file;
}

/** Lines of base64 from a key file: none of them may appear in a message. */
function secretsOf(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => /^[A-Za-z0-9+/=]{16,}$/.test(l));
}

/** Expects a KeyError with this message, and no key material or passphrase in it or its cause. */
async function rejectsWith(source: PrivateKeySource, message: string | RegExp, secrets: string[] = []): Promise<void> {
  await assert.rejects(loadPrivateKey(source), (err: unknown) => {
    assert.ok(err instanceof KeyError, String(err));
    assert.equal(err.code, 'ERR_KEY');
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    const text = `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}`;
    for (const s of [PASSPHRASE, 'wrong passphrase!', ...secrets]) {
      assert.ok(!text.includes(s), `message leaks ${s.slice(0, 8)}...`);
    }
    assert.doesNotMatch(text, /BEGIN|PRIVATE KEY-----/);
    return true;
  });
}

describe('loadPrivateKey', () => {
  it('loads an unencrypted 0600 key that ssh2 can use', async () => {
    for (const type of ['ed25519', 'ecdsa', 'rsa']) {
      const file = keygen(`plain_${type}`, type);
      const loaded = await loadPrivateKey({ identityFile: file });
      assert.ok(loaded.key.equals(readFileSync(file)));
      assert.equal(loaded.passphrase, undefined);
      const parsed = ssh2.utils.parseKey(loaded.key);
      assert.ok(!(parsed instanceof Error) && parsed.isPrivateKey());
    }
  });

  it('ignores a passphrase given for an unencrypted key, and does not hand it on', async () => {
    const file = keygen('plain_with_pass', 'ed25519');
    const loaded = await loadPrivateKey({ identityFile: file, passphrase: PASSPHRASE });
    assert.equal(loaded.passphrase, undefined);
  });

  it('refuses keys that group or others may read or write, as OpenSSH does', async () => {
    const file = keygen('open', 'ed25519');
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(file, mode);
      const shown = mode.toString(8).padStart(4, '0');
      await rejectsWith({ identityFile: file }, `permissions ${shown} for ${file} are too open; chmod 600 it`, secretsOf(file));
    }
    chmodSync(file, 0o400);
    assert.ok((await loadPrivateKey({ identityFile: file })).key.length > 0, '0400 is fine');
  });

  it('names a missing key file', async () => {
    const file = join(dir, 'no-such-key');
    await rejectsWith({ identityFile: file }, `private key ${file} does not exist`);
  });

  for (const [label, type, format] of [
    ['OpenSSH format ed25519', 'ed25519', undefined],
    ['legacy PEM ecdsa', 'ecdsa', 'PEM'],
    ['legacy PEM rsa', 'rsa', 'PEM'],
  ] as const) {
    it(`encrypted ${label}: right, wrong and missing passphrase`, async () => {
      const file = keygen(`enc_${type}_${format ?? 'openssh'}`, type, PASSPHRASE, format);
      const secrets = secretsOf(file);
      const loaded = await loadPrivateKey({ identityFile: file, passphrase: PASSPHRASE });
      assert.equal(loaded.passphrase, PASSPHRASE);
      const parsed = ssh2.utils.parseKey(loaded.key, loaded.passphrase);
      assert.ok(!(parsed instanceof Error) && parsed.isPrivateKey());

      await rejectsWith({ identityFile: file, passphrase: 'wrong passphrase!' }, `wrong passphrase for ${file}`, secrets);
      await rejectsWith({ identityFile: file }, `${file} is encrypted: give a passphrase`, secrets);
      await rejectsWith({ identityFile: file, passphrase: '' }, `${file} is encrypted: give a passphrase`, secrets);
    });
  }

  it('reads the passphrase from a file, dropping its trailing newline', async () => {
    const file = keygen('enc_file', 'ed25519', PASSPHRASE);
    const passFile = join(dir, 'passphrase');
    writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const loaded = await loadPrivateKey({ identityFile: file, passphraseFile: passFile });
    assert.equal(loaded.passphrase, PASSPHRASE);

    writeFileSync(passFile, `${PASSPHRASE}\r\n`);
    assert.equal((await loadPrivateKey({ identityFile: file, passphraseFile: passFile })).passphrase, PASSPHRASE);

    writeFileSync(passFile, 'wrong passphrase!\n');
    await rejectsWith({ identityFile: file, passphraseFile: passFile }, `wrong passphrase for ${file}`, secretsOf(file));

    const missing = join(dir, 'no-such-passphrase');
    await rejectsWith({ identityFile: file, passphraseFile: missing }, `passphrase file ${missing} does not exist`);
  });

  it('reads the passphrase from a named environment variable', async () => {
    const file = keygen('enc_env', 'ecdsa', PASSPHRASE);
    const name = 'SSH_EGRESS_TEST_PASSPHRASE';
    process.env[name] = PASSPHRASE;
    try {
      const loaded = await loadPrivateKey({ identityFile: file, passphraseEnv: name });
      assert.equal(loaded.passphrase, PASSPHRASE);
      process.env[name] = 'wrong passphrase!';
      await rejectsWith({ identityFile: file, passphraseEnv: name }, `wrong passphrase for ${file}`, secretsOf(file));
    } finally {
      delete process.env[name];
    }
    await rejectsWith(
      { identityFile: file, passphraseEnv: name },
      `environment variable ${name} (passphrase for ${file}) is not set`,
    );
  });

  it('refuses two passphrase sources at once', async () => {
    const file = keygen('enc_two', 'ed25519', PASSPHRASE);
    await rejectsWith(
      { identityFile: file, passphrase: PASSPHRASE, passphraseEnv: 'X' },
      `${file}: give only one of passphrase, passphraseFile and passphraseEnv`,
    );
  });

  it('refuses formats ssh2 cannot read, and public keys, without echoing their content', async () => {
    const pkcs8 = keygen('pkcs8', 'ecdsa', '', 'PKCS8');
    assert.match(readFileSync(pkcs8, 'utf8'), /BEGIN PRIVATE KEY/);
    await rejectsWith({ identityFile: pkcs8 }, new RegExp(`^${pkcs8} is not a usable private key: `), secretsOf(pkcs8));

    const garbage = join(dir, 'garbage');
    writeFileSync(garbage, 'c2VjcmV0LWxvb2tpbmctYnl0ZXMtdGhhdC1hcmUtbm90LWEta2V5\n', { mode: 0o600 });
    await rejectsWith({ identityFile: garbage }, /is not a usable private key/, secretsOf(garbage));

    const pub = `${keygen('pub_only', 'ed25519')}.pub`;
    chmodSync(pub, 0o600);
    await rejectsWith({ identityFile: pub }, `${pub} holds a public key; give the private key file`);
  });

  it('refuses a directory', async () => {
    await rejectsWith({ identityFile: dir }, `private key ${dir} is not a regular file`);
  });
});
