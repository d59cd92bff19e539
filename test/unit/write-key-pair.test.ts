import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KeyError } from '../../src/errors.js';
import { writeKeyPair } from '../../src/keys/write-key-pair.js';

const dir = mkdtempSync(join(tmpdir(), 'write-key-pair-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PAIR = { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n', publicKey: 'ssh-ed25519 AAAAC3Nz test' };
const OTHER = { privateKey: 'other private\n', publicKey: 'ssh-ed25519 BBBB other' };
const mode = (file: string): number => statSync(file).mode & 0o777;

async function rejectsWith(promise: Promise<unknown>, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KeyError, String(err));
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

describe('writeKeyPair', () => {
  it('writes the private key 0600 and then <path>.pub with a newline', async () => {
    const file = join(dir, 'id');
    // A permissive umask must not widen the private key: its mode is set when the file is created.
    const umask = process.umask(0);
    try {
      assert.deepEqual(await writeKeyPair(file, PAIR), { privateKeyFile: file, publicKeyFile: `${file}.pub` });
    } finally {
      process.umask(umask);
    }
    assert.equal(mode(file), 0o600);
    assert.equal(mode(`${file}.pub`), 0o644);
    assert.equal(readFileSync(file, 'utf8'), PAIR.privateKey);
    assert.equal(readFileSync(`${file}.pub`, 'utf8'), `${PAIR.publicKey}\n`);
    assert.ok(statSync(file).mtimeMs <= statSync(`${file}.pub`).mtimeMs, 'public key written last');
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('tmp')), [], 'no temporary file left');
  });

  it('refuses to overwrite either half without force, and leaves both untouched', async () => {
    const file = join(dir, 'existing');
    await writeKeyPair(file, PAIR);
    await rejectsWith(writeKeyPair(file, OTHER), `${file} already exists; not overwriting it without force (--force)`);
    assert.equal(readFileSync(file, 'utf8'), PAIR.privateKey);
    // Only a .pub in the way is refused too, before any private key is written.
    const pubOnly = join(dir, 'pubonly');
    writeFileSync(`${pubOnly}.pub`, 'someone else\n');
    await rejectsWith(writeKeyPair(pubOnly, OTHER), `${pubOnly}.pub already exists; not overwriting it without force (--force)`);
    assert.equal(existsSync(pubOnly), false);
    assert.equal(readFileSync(`${pubOnly}.pub`, 'utf8'), 'someone else\n');
  });

  it('does not follow a symlink planted at the path', async () => {
    const target = join(dir, 'victim');
    writeFileSync(target, 'precious\n', { mode: 0o644 });
    const link = join(dir, 'planted');
    symlinkSync(target, link);
    await rejectsWith(writeKeyPair(link, PAIR), /already exists/);
    const dangling = join(dir, 'dangling');
    symlinkSync(join(dir, 'nowhere'), dangling);
    await rejectsWith(writeKeyPair(dangling, PAIR), /already exists/);
    assert.equal(existsSync(join(dir, 'nowhere')), false);
    // With force the link itself is replaced, never what it points to.
    await writeKeyPair(link, PAIR, { force: true });
    assert.equal(readFileSync(target, 'utf8'), 'precious\n');
    assert.ok(lstatSync(link).isFile());
    assert.equal(mode(link), 0o600);
  });

  it('with force replaces a pair, and a too-open old key does not lend its mode', async () => {
    const file = join(dir, 'forced');
    writeFileSync(file, 'old\n', { mode: 0o644 });
    writeFileSync(`${file}.pub`, 'old pub\n');
    await writeKeyPair(file, OTHER, { force: true });
    assert.equal(readFileSync(file, 'utf8'), OTHER.privateKey);
    assert.equal(readFileSync(`${file}.pub`, 'utf8'), `${OTHER.publicKey}\n`);
    assert.equal(mode(file), 0o600);
  });

  it('reports a missing directory or a directory in the way', async () => {
    const missing = join(dir, 'no-such-dir', 'id');
    await rejectsWith(writeKeyPair(missing, PAIR), `cannot create ${missing}: directory ${join(dir, 'no-such-dir')} does not exist`);
    const isDir = join(dir, 'a-dir');
    mkdirSync(isDir);
    await rejectsWith(writeKeyPair(isDir, PAIR), /already exists/);
    await rejectsWith(writeKeyPair(isDir, PAIR, { force: true }), /a-dir/);
  });

  it('leaves no private key behind when the public key cannot be written', async () => {
    // A 240-character name fits NAME_MAX (255), the public key's temporary name (+21) does not: the
    // private key is written, then writing the public key fails.
    const file = join(dir, 'k'.repeat(240));
    await rejectsWith(writeKeyPair(file, PAIR), /cannot write .*\.pub \(ENAMETOOLONG\)/);
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('kkk')), []);
  });
});
