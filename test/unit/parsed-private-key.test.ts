import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { parsedPrivateKey } from '../../src/ssh/parsed-private-key.js';

test('a loaded key is parsed once: the same parsed key comes back for the same bytes and passphrase', () => {
  const { private: pem } = ssh2.utils.generateKeyPairSync('ed25519');
  const bytes = Buffer.from(pem);
  const first = parsedPrivateKey(bytes, undefined);
  assert.ok(first);
  assert.equal(parsedPrivateKey(bytes, undefined), first);
  assert.notEqual(parsedPrivateKey(Buffer.from(pem), undefined), first, 'other bytes are parsed on their own');
});

test('an encrypted key is parsed with its passphrase, and again when the passphrase differs', () => {
  const { private: pem } = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'right', cipher: 'aes256-ctr', rounds: 2 });
  const bytes = Buffer.from(pem);
  assert.equal(parsedPrivateKey(bytes, 'wrong'), undefined, 'a wrong passphrase leaves the bytes for ssh2 to refuse');
  const parsed = parsedPrivateKey(bytes, 'right');
  assert.ok(parsed);
  assert.ok(parsed.getPublicSSH().length > 0);
  assert.equal(parsedPrivateKey(bytes, 'right'), parsed);
});

test('bytes that are no key are passed through for ssh2 to refuse in its own words', () => {
  const junk = Buffer.from('not a key');
  assert.equal(parsedPrivateKey(junk, undefined), undefined);
});
