import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { KeyError } from '../../src/errors.js';
import { loadOrCreateAgentHostKey } from '../../src/ssh/agent-host-key.js';

const dir = mkdtempSync(join(tmpdir(), 'agent-host-key-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const keyError = (pattern: RegExp) => (err: unknown) => err instanceof KeyError && pattern.test(err.message);

describe('loadOrCreateAgentHostKey', () => {
  it('creates an ed25519 key 0600 with its public line beside it, then loads the same key', async () => {
    const file = join(dir, 'agent_host_key');
    const created = await loadOrCreateAgentHostKey(file);
    assert.equal(created.created, true);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(created.publicKeyLine, /^ssh-ed25519 AAAA\S+ ssh-egress agent listener$/);
    assert.equal(readFileSync(`${file}.pub`, 'utf8'), `${created.publicKeyLine}\n`);
    assert.match(created.fingerprint, /^SHA256:/);
    const loaded = await loadOrCreateAgentHostKey(file);
    assert.deepEqual({ ...loaded, created: true }, created);
  });

  it('never regenerates an existing key it cannot use: the error names the file', async () => {
    const file = join(dir, 'broken');
    writeFileSync(file, 'not a key\n', { mode: 0o600 });
    await assert.rejects(loadOrCreateAgentHostKey(file), keyError(/agent host key .*broken is not a usable private key/));
    assert.equal(readFileSync(file, 'utf8'), 'not a key\n');
  });

  it('refuses a key file others may read, and a public key', async () => {
    const file = join(dir, 'open');
    await loadOrCreateAgentHostKey(file);
    chmodSync(file, 0o644);
    await assert.rejects(loadOrCreateAgentHostKey(file), keyError(/permissions 0644 for .*open are too open/));
    const pub = join(dir, 'public');
    writeFileSync(pub, readFileSync(`${file}.pub`), { mode: 0o600 });
    await assert.rejects(loadOrCreateAgentHostKey(pub), keyError(/holds a public key/));
  });

  it('refuses to create a key where only the .pub exists', async () => {
    const file = join(dir, 'orphan');
    writeFileSync(`${file}.pub`, 'ssh-ed25519 AAAA old\n');
    await assert.rejects(loadOrCreateAgentHostKey(file), keyError(/orphan.pub already exists/));
  });
});
