import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KnownHostsError } from '../../src/errors.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { fingerprintOf, keyTypeOf } from '../../src/hostkeys/fingerprint.js';
import { createHostKeyVerifier } from '../../src/hostkeys/host-key-verifier.js';
import { formatHashedKnownHostsLines, formatKnownHostsLine, KnownHosts } from '../../src/hostkeys/known-hosts.js';

/** A real key made by ssh-keygen: its "type base64" text, wire blob and the path of its .pub file. */
interface Key {
  type: string;
  text: string;
  blob: Buffer;
  pub: string;
}

const dir = mkdtempSync(join(tmpdir(), 'known-hosts-test-'));
const keys: Record<'ed25519' | 'ecdsa' | 'rsa', Key> = {} as never;

function keygen(type: 'ed25519' | 'ecdsa' | 'rsa'): Key {
  const file = join(dir, `id_${type}`);
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', `test-${type}`, '-f', file]);
  const [keyType = '', base64 = ''] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ');
  return { type: keyType, text: `${keyType} ${base64}`, blob: Buffer.from(base64, 'base64'), pub: `${file}.pub` };
}

/** Line numbers of the lines `ssh-keygen -F name` (OpenSSH's own matcher) finds in a file. */
function opensshFinds(file: string, name: string): number[] {
  let out = '';
  try {
    out = execFileSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (err) {
    if ((err as { status?: number }).status !== 1) throw err; // 1 = not found
  }
  return [...out.matchAll(/found: line (\d+)/g)].map((m) => Number(m[1]));
}

function lines(kh: KnownHosts, host: string, port = 22): number[] {
  const r = kh.lookup(host, port);
  return r.trusted.map((t) => t.line).sort((a, b) => a - b);
}

before(() => {
  keys.ed25519 = keygen('ed25519');
  keys.ecdsa = keygen('ecdsa');
  keys.rsa = keygen('rsa');
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('fingerprintOf / keyTypeOf', () => {
  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    it(`matches ssh-keygen -lf for ${type}`, () => {
      const key = keys[type];
      const out = execFileSync('ssh-keygen', ['-lf', key.pub], { encoding: 'utf8' });
      const expected = out.split(' ')[1];
      assert.match(expected ?? '', /^SHA256:[A-Za-z0-9+/]{43}$/);
      assert.equal(fingerprintOf(key.blob), expected);
      assert.equal(keyTypeOf(key.blob), key.type);
    });
  }
  it('keyTypeOf rejects a blob too short to hold a name', () => {
    assert.equal(keyTypeOf(Buffer.from([0, 0, 0, 9, 0x61])), undefined);
    assert.equal(keyTypeOf(Buffer.alloc(2)), undefined);
  });
});

describe('KnownHosts lookups', () => {
  it('plain names, ssh-keyscan style comments, CRLF, blank lines', () => {
    const kh = KnownHosts.parse(
      [
        '# 198.18.0.1:22 SSH-2.0-OpenSSH_9.2p1 Debian-2',
        `198.18.0.1 ${keys.ed25519.text}`,
        '',
        `   # indented comment`,
        `198.18.0.2 ${keys.ecdsa.text} a comment with spaces\r`,
      ].join('\n'),
    );
    assert.deepEqual(kh.warnings, []);
    const found = kh.lookup('198.18.0.1', 22);
    assert.equal(found.trusted.length, 1);
    assert.ok(found.trusted[0]?.blob.equals(keys.ed25519.blob));
    assert.equal(found.trusted[0]?.keyType, 'ssh-ed25519');
    assert.equal(found.trusted[0]?.fingerprint, fingerprintOf(keys.ed25519.blob));
    assert.equal(found.trusted[0]?.line, 2);
    assert.deepEqual(lines(kh, '198.18.0.2'), [5]);
    assert.ok(kh.lookup('198.18.0.2', 22).trusted[0]?.blob.equals(keys.ecdsa.blob));
    assert.deepEqual(lines(kh, '198.18.0.3'), []);
    assert.deepEqual(lines(kh, '198.18.0.10'), [], 'no prefix matching');
  });

  it('[host]:port for non-22 ports, bare for 22, as OpenSSH matches them', () => {
    const file = join(dir, 'ports');
    writeFileSync(
      file,
      [
        `198.18.0.1 ${keys.ed25519.text}`,
        `[198.18.0.1]:2222 ${keys.ecdsa.text}`,
        `[198.18.0.2]:22 ${keys.rsa.text}`,
        `[2001:db8::1]:2222 ${keys.rsa.text}`,
        `2001:db8::1 ${keys.ed25519.text}`,
      ].join('\n') + '\n',
    );
    const kh = KnownHosts.parse(readFileSync(file, 'utf8'), file);
    assert.deepEqual(lines(kh, '198.18.0.1', 22), [1]);
    assert.deepEqual(lines(kh, '198.18.0.1', 2222), [2]);
    assert.deepEqual(lines(kh, '198.18.0.1', 2200), []);
    // OpenSSH never looks up "[host]:22", so such a line is dead; we agree with it.
    assert.deepEqual(lines(kh, '198.18.0.2', 22), []);
    assert.deepEqual(lines(kh, '2001:db8::1', 2222), [4]);
    assert.deepEqual(lines(kh, '2001:db8::1', 22), [5]);
    assert.deepEqual(lines(kh, '[2001:db8::1]', 22), [5], 'brackets around an address are accepted');
    for (const [host, port, name] of [
      ['198.18.0.1', 22, '198.18.0.1'],
      ['198.18.0.1', 2222, '[198.18.0.1]:2222'],
      ['198.18.0.2', 22, '198.18.0.2'],
      ['2001:db8::1', 2222, '[2001:db8::1]:2222'],
    ] as const) {
      assert.deepEqual(lines(kh, host, port), opensshFinds(file, name), `agrees with ssh-keygen -F ${name}`);
    }
  });

  it('comma lists, wildcards, negation and case agree with ssh-keygen -F', () => {
    const file = join(dir, 'patterns');
    writeFileSync(
      file,
      [
        `node-a,198.18.0.1,Node-A.Cluster.Internal ${keys.ed25519.text}`,
        `198.18.0.* ${keys.ecdsa.text}`,
        `node-?,!node-c ${keys.rsa.text}`,
        `*.example.com,!bad.example.com ${keys.ed25519.text}`,
        `* ${keys.ecdsa.text}`,
        `!198.18.9.9 ${keys.rsa.text}`,
      ].join('\n') + '\n',
    );
    const kh = KnownHosts.parse(readFileSync(file, 'utf8'), file);
    const expectations: [string, number, number[]][] = [
      ['node-a', 22, [1, 3, 5]],
      ['198.18.0.1', 22, [1, 2, 5]],
      ['node-a.cluster.internal', 22, [1, 5]],
      ['NODE-A', 22, [1, 3, 5]],
      ['198.18.0.77', 22, [2, 5]],
      ['node-b', 22, [3, 5]],
      ['node-bb', 22, [5]],
      ['node-c', 22, [5]],
      ['a.example.com', 22, [4, 5]],
      ['bad.example.com', 22, [5]],
      ['198.18.0.1', 2222, [5]],
      ['198.18.9.9', 22, [5]],
    ];
    for (const [host, port, expected] of expectations) {
      assert.deepEqual(lines(kh, host, port), expected, `${host}:${port}`);
      const name = port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
      assert.deepEqual(lines(kh, host, port), opensshFinds(file, name), `agrees with ssh-keygen -F ${name}`);
    }
  });

  it('hashed names written by ssh-keygen -H', () => {
    const file = join(dir, 'hashed');
    writeFileSync(
      file,
      [
        `node-a,198.18.0.1 ${keys.ed25519.text}`,
        `[198.18.0.1]:2222 ${keys.ecdsa.text}`,
        `198.18.0.5 ${keys.rsa.text}`,
      ].join('\n') + '\n',
    );
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /198\.18|node-a/, 'ssh-keygen hashed every name');
    assert.equal(text.trim().split('\n').filter((l) => l.startsWith('|1|')).length, 4);
    const kh = KnownHosts.parse(text, file);
    assert.deepEqual(kh.warnings, []);
    assert.ok(kh.lookup('node-a', 22).trusted[0]?.blob.equals(keys.ed25519.blob));
    assert.ok(kh.lookup('198.18.0.1', 22).trusted[0]?.blob.equals(keys.ed25519.blob));
    assert.ok(kh.lookup('Node-A', 22).trusted[0]?.blob.equals(keys.ed25519.blob), 'hashes the lowercased name');
    assert.ok(kh.lookup('198.18.0.1', 2222).trusted[0]?.blob.equals(keys.ecdsa.blob));
    assert.equal(kh.lookup('198.18.0.1', 2222).trusted.length, 1);
    assert.ok(kh.lookup('198.18.0.5', 22).trusted[0]?.blob.equals(keys.rsa.blob));
    assert.deepEqual(lines(kh, '198.18.0.6'), []);
    assert.deepEqual(lines(kh, 'node-b'), []);
    for (const name of ['node-a', '198.18.0.1', '[198.18.0.1]:2222', '198.18.0.5', '198.18.0.6']) {
      const [host, port] = name.startsWith('[') ? [name.slice(1, name.indexOf(']')), 2222] : [name, 22];
      assert.deepEqual(lines(kh, host, port), opensshFinds(file, name), `agrees with ssh-keygen -F ${name}`);
    }
  });

  it('several keys for one host', () => {
    const kh = KnownHosts.parse(
      [`node-a ${keys.ed25519.text}`, `node-a ${keys.ecdsa.text}`, `node-a,node-b ${keys.rsa.text}`].join('\n'),
    );
    const found = kh.lookup('node-a', 22);
    assert.deepEqual(
      found.trusted.map((t) => t.keyType),
      ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa'],
    );
    assert.deepEqual(kh.lookup('node-b', 22).trusted.map((t) => t.keyType), ['ssh-rsa']);
  });

  it('keeps file order across plain, wildcard and hashed lines, and a negation still vetoes a plain name', () => {
    const hashedA = formatHashedKnownHostsLines(['node-a'], 22, keys.rsa.blob)[0];
    const kh = KnownHosts.parse(
      [`node-* ${keys.ecdsa.text}`, `node-a ${keys.ed25519.text}`, hashedA, `node-b,!node-a ${keys.ecdsa.text}`, `NODE-A,node-a ${keys.ecdsa.text}`].join('\n'),
    );
    for (const round of [1, 2]) {
      const found = kh.lookup('Node-A', 22);
      assert.deepEqual(found.trusted.map((t) => t.line), [1, 2, 3, 5], `round ${round}`);
      assert.deepEqual(found.trusted.map((t) => t.keyType), ['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
    }
    assert.deepEqual(kh.lookup('node-b', 22).trusted.map((t) => t.line), [1, 4]);
    assert.deepEqual(kh.lookup('node-a', 2222).trusted.map((t) => t.line), []);
  });

  it('@revoked keys are reported apart from trusted ones', () => {
    const kh = KnownHosts.parse(
      [`node-a ${keys.ed25519.text}`, `@revoked * ${keys.rsa.text}`, `@revoked node-b ${keys.ecdsa.text}`].join('\n'),
    );
    const a = kh.lookup('node-a', 22);
    assert.equal(a.trusted.length, 1);
    assert.equal(a.revoked.length, 1);
    assert.ok(a.revoked[0]?.equals(keys.rsa.blob));
    const b = kh.lookup('node-b', 22);
    assert.equal(b.trusted.length, 0);
    assert.equal(b.revoked.length, 2);
  });

  it('@cert-authority lines are reported and refused by the verifier, never honoured', () => {
    const file = '/etc/ssh/ssh_known_hosts';
    const kh = KnownHosts.parse(
      [`# CA`, `@cert-authority *.cluster.internal ${keys.ed25519.text}`].join('\n'),
      file,
    );
    const found = kh.lookup('node-a.cluster.internal', 22);
    assert.deepEqual(found.certAuthorityLines, [2]);
    assert.equal(found.trusted.length, 0, 'a CA key is not a host key');
    assert.deepEqual(kh.lookup('elsewhere', 22).certAuthorityLines, []);

    const node: NodeSpec = {
      name: 'node-a',
      address: '198.18.0.1',
      aliases: ['node-a.cluster.internal'],
      sshPort: 22,
      kubeletPort: 10250,
      podCIDRs: [],
      hostKeyFingerprints: [],
      labels: {},
    };
    // Even the CA's own key must not be accepted as if a certificate had been checked.
    const verdict = createHostKeyVerifier(node, { knownHosts: kh })(keys.ed25519.blob);
    assert.equal(verdict.ok, false);
    assert.ok(!verdict.ok && verdict.error instanceof KnownHostsError);
    assert.ok(!verdict.ok);
    assert.equal(verdict.error.code, 'ERR_KNOWN_HOSTS');
    assert.match(
      verdict.error.message,
      /^@cert-authority in \/etc\/ssh\/ssh_known_hosts:2 cannot be honoured: ssh2 does not support OpenSSH host certificates; pin host keys instead/,
    );
  });

  it('skips malformed lines with a warning each, like OpenSSH, and keeps the good ones', () => {
    const ed = keys.ed25519.text;
    const [, edBase64] = ed.split(' ');
    const kh = KnownHosts.parse(
      [
        `good ${ed}`, // 1
        `lonely-host`, // 2
        `host ssh-ed25519`, // 3
        `host ssh-ed25519 not*base64!`, // 4
        `host ssh-rsa ${edBase64}`, // 5: type field disagrees with the key
        `@bogus host ${ed}`, // 6
        `|1|c2FsdA==|aGFzaA== ${ed}`, // 7: salt and hash of the wrong size
        `|1|onlyone ${ed}`, // 8
        `host 2048 65537 1234567`, // 9: SSH-1 RSA
        `host ssh-ed25519 AAAA`, // 10: not an SSH key blob
        `good2 ${ed}`, // 11
      ].join('\n'),
      'kh-file',
    );
    assert.deepEqual(
      kh.warnings.map((w) => Number(/^kh-file:(\d+): /.exec(w)?.[1])),
      [2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
    assert.ok(kh.warnings.every((w) => w.endsWith('; line skipped')));
    assert.match(kh.warnings[3] ?? '', /ssh-rsa does not match the key \(ssh-ed25519\)/);
    assert.match(kh.warnings[4] ?? '', /unknown marker @bogus/);
    assert.equal(kh.size, 2);
    assert.deepEqual(lines(kh, 'good'), [1]);
    assert.deepEqual(lines(kh, 'good2'), [11]);
    assert.deepEqual(lines(kh, 'host'), []);
  });

  it('load() reads a file and names a missing one', async () => {
    const file = join(dir, 'load');
    writeFileSync(file, `node-a ${keys.ecdsa.text}\n`);
    const kh = await KnownHosts.load(file);
    assert.equal(kh.source, file);
    assert.deepEqual(lines(kh, 'node-a'), [1]);

    const missing = join(dir, 'no-such-known-hosts');
    await assert.rejects(KnownHosts.load(missing), (err: unknown) => {
      assert.ok(err instanceof KnownHostsError);
      assert.equal(err.code, 'ERR_KNOWN_HOSTS');
      assert.equal(err.message, `known_hosts file ${missing} does not exist`);
      return true;
    });
  });
});

describe('formatKnownHostsLine', () => {
  it('writes "names type base64" as ssh does, [host]:port off port 22, and reads back', () => {
    const { blob, text } = keys.ecdsa;
    assert.equal(formatKnownHostsLine(['N1', '198.18.0.11', 'n1'], 22, blob), `n1,198.18.0.11 ${text}`);
    const line = formatKnownHostsLine(['n1', 'fd00::11'], 2222, blob);
    assert.equal(line, `[n1]:2222,[fd00::11]:2222 ${text}`);
    assert.equal(KnownHosts.parse(line).lookup('fd00::11', 2222).trusted[0]?.fingerprint, fingerprintOf(blob));
  });

  it('refuses names OpenSSH would read as patterns, lists or negations, and non-keys', () => {
    for (const bad of ['*', 'n?', '!n1', 'a,b', 'a b', '|1|x|y', '']) {
      assert.throws(() => formatKnownHostsLine([bad], 22, keys.ed25519.blob), KnownHostsError, JSON.stringify(bad));
    }
    assert.throws(() => formatKnownHostsLine(['n1'], 22, Buffer.from('nope')), /not an SSH public key/);
  });
});
