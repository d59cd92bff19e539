import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  HostKeyMismatchError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  KnownHostsError,
  type EgressError,
} from '../../src/errors.js';
import type { NodeSpec } from '../../src/nodes/node-spec.js';
import { fingerprintOf } from '../../src/hostkeys/fingerprint.js';
import {
  createHostKeyVerifier,
  hostKeyAlgorithmsFor,
  recheckHostKey,
  type HostKeyPolicy,
} from '../../src/hostkeys/host-key-verifier.js';
import { KnownHosts } from '../../src/hostkeys/known-hosts.js';

type KeyName = 'ed25519' | 'ecdsa' | 'rsa';
interface Key {
  text: string;
  blob: Buffer;
  fp: string;
}

const dir = mkdtempSync(join(tmpdir(), 'host-key-verifier-test-'));
const keys = {} as Record<KeyName, Key>;

before(() => {
  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    const file = join(dir, `id_${type}`);
    const bits = type === 'rsa' ? ['-b', '2048'] : [];
    execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-f', file]);
    const [keyType = '', base64 = ''] = readFileSync(`${file}.pub`, 'utf8').split(' ');
    const blob = Buffer.from(base64, 'base64');
    keys[type] = { text: `${keyType} ${base64}`, blob, fp: fingerprintOf(blob) };
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

function node(overrides: Partial<NodeSpec> = {}): NodeSpec {
  return {
    name: 'node-a',
    address: '198.18.0.1',
    aliases: ['node-a.cluster.internal', '198.18.1.1'],
    sshPort: 22,
    kubeletPort: 10250,
    podCIDRs: ['198.19.1.0/24'],
    hostKeyFingerprints: [],
    labels: {},
    ...overrides,
  };
}

/** known_hosts text from "hosts keyName" pairs, with an optional marker. */
function knownHosts(...lines: [string, KeyName, string?][]): KnownHosts {
  const text = lines.map(([hosts, key, marker]) => `${marker ? `${marker} ` : ''}${hosts} ${keys[key].text}`).join('\n');
  const kh = KnownHosts.parse(text, '/test/known_hosts');
  assert.deepEqual(kh.warnings, []);
  return kh;
}

/** A one-line known_hosts hashed by OpenSSH itself. */
function hashedKnownHosts(host: string, key: KeyName): KnownHosts {
  const file = join(dir, `hashed-${host}-${key}`);
  writeFileSync(file, `${host} ${keys[key].text}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^\|1\|/);
  return KnownHosts.parse(text, file);
}

interface Case {
  name: string;
  node?: () => Partial<NodeSpec>;
  policy: () => HostKeyPolicy;
  presented: KeyName;
  /** ok, or the error class expected. */
  expect: 'ok' | (new (...args: never[]) => EgressError);
  /** Extra checks on the error message. */
  message?: (m: string) => void;
}

const cases: Case[] = [
  {
    name: 'trusted by address',
    policy: () => ({ knownHosts: knownHosts(['198.18.0.1', 'ed25519']) }),
    presented: 'ed25519',
    expect: 'ok',
  },
  {
    name: 'trusted by node name',
    policy: () => ({ knownHosts: knownHosts(['node-a', 'ecdsa']) }),
    presented: 'ecdsa',
    expect: 'ok',
  },
  {
    name: 'trusted by alias (DNS name)',
    policy: () => ({ knownHosts: knownHosts(['node-a.cluster.internal', 'rsa']) }),
    presented: 'rsa',
    expect: 'ok',
  },
  {
    name: 'trusted by alias IP on a line hashed by ssh-keygen -H',
    policy: () => ({ knownHosts: hashedKnownHosts('198.18.1.1', 'rsa') }),
    presented: 'rsa',
    expect: 'ok',
  },
  {
    name: 'trusted by an alias IP via wildcard',
    policy: () => ({ knownHosts: knownHosts(['198.18.1.*', 'ed25519']) }),
    presented: 'ed25519',
    expect: 'ok',
  },
  {
    name: 'non-22 port looks up [host]:port',
    node: () => ({ sshPort: 2222 }),
    policy: () => ({ knownHosts: knownHosts(['[198.18.0.1]:2222', 'ed25519'], ['198.18.0.1', 'ecdsa']) }),
    presented: 'ed25519',
    expect: 'ok',
  },
  {
    name: 'a port-22 line does not vouch for port 2222',
    node: () => ({ sshPort: 2222 }),
    policy: () => ({ knownHosts: knownHosts(['198.18.0.1', 'ed25519']) }),
    presented: 'ed25519',
    expect: HostKeyUnknownError,
    message: (m) => assert.match(m, /\[198\.18\.0\.1\]:2222/),
  },
  {
    name: 'pinned fingerprint, no known_hosts',
    node: () => ({ hostKeyFingerprints: [keys.ecdsa.fp] }),
    policy: () => ({}),
    presented: 'ecdsa',
    expect: 'ok',
  },
  {
    name: 'mismatch: known_hosts has another key; message has both fingerprints',
    policy: () => ({ knownHosts: knownHosts(['node-a', 'ed25519']) }),
    presented: 'ecdsa',
    expect: HostKeyMismatchError,
    message: (m) => {
      assert.ok(m.includes(keys.ed25519.fp), 'expected fingerprint');
      assert.ok(m.includes(keys.ecdsa.fp), 'actual fingerprint');
      assert.match(m, /node-a/);
    },
  },
  {
    name: 'unknown: nothing vouches for this node',
    policy: () => ({ knownHosts: knownHosts(['node-b,198.18.0.2', 'ed25519']) }),
    presented: 'ed25519',
    expect: HostKeyUnknownError,
    message: (m) => {
      assert.match(m, /198\.18\.0\.1, node-a, node-a\.cluster\.internal, 198\.18\.1\.1 in \/test\/known_hosts/);
      assert.ok(m.includes(keys.ed25519.fp));
    },
  },
  {
    name: 'unknown: no known_hosts and no pins',
    policy: () => ({}),
    presented: 'rsa',
    expect: HostKeyUnknownError,
    message: (m) => assert.match(m, /with no known_hosts file/),
  },
  {
    name: 'negation excludes the node from a wildcard line',
    policy: () => ({ knownHosts: knownHosts(['198.18.0.*,!198.18.0.1', 'ed25519']) }),
    presented: 'ed25519',
    expect: HostKeyUnknownError,
  },
  {
    name: 'revoked beats a trusted line for the same key',
    policy: () => ({ knownHosts: knownHosts(['node-a', 'rsa'], ['*', 'rsa', '@revoked']) }),
    presented: 'rsa',
    expect: HostKeyRevokedError,
    message: (m) => assert.ok(m.includes(keys.rsa.fp)),
  },
  {
    name: 'revoked key of another type does not affect a trusted one',
    policy: () => ({ knownHosts: knownHosts(['node-a', 'ed25519'], ['*', 'rsa', '@revoked']) }),
    presented: 'ed25519',
    expect: 'ok',
  },
  {
    name: '@cert-authority alone is refused',
    policy: () => ({ knownHosts: knownHosts(['*.cluster.internal', 'ed25519', '@cert-authority']) }),
    presented: 'ecdsa',
    expect: KnownHostsError,
    message: (m) => assert.match(m, /^@cert-authority in \/test\/known_hosts:1 cannot be honoured: ssh2 does not support OpenSSH host certificates; pin host keys instead/),
  },
  {
    name: '@cert-authority next to a plain trusted key: the plain key decides',
    policy: () => ({
      knownHosts: knownHosts(['*.cluster.internal', 'ed25519', '@cert-authority'], ['198.18.0.1', 'ecdsa']),
    }),
    presented: 'ecdsa',
    expect: 'ok',
  },
  {
    name: 'insecureIgnoreHostKeys accepts anything, even a revoked key',
    policy: () => ({ insecureIgnoreHostKeys: true, knownHosts: knownHosts(['*', 'rsa', '@revoked']) }),
    presented: 'rsa',
    expect: 'ok',
  },
];

describe('createHostKeyVerifier', () => {
  for (const c of cases) {
    it(c.name, () => {
      const spec = node(c.node?.());
      const verdict = createHostKeyVerifier(spec, c.policy())(keys[c.presented].blob);
      if (c.expect === 'ok') {
        assert.deepEqual(verdict, { ok: true, fingerprint: keys[c.presented].fp });
        return;
      }
      assert.equal(verdict.ok, false, 'must be refused');
      if (verdict.ok) return;
      assert.ok(verdict.error instanceof c.expect, `${verdict.error.name}: ${verdict.error.message}`);
      c.message?.(verdict.error.message);
    });
  }

  it('pinned fingerprints: mismatch lists pins and known_hosts keys; padding and prefix case tolerated', () => {
    const spec = node({ hostKeyFingerprints: [`sha256:${keys.rsa.fp.slice('SHA256:'.length)}=`] });
    const verify = createHostKeyVerifier(spec, { knownHosts: knownHosts(['node-a', 'ed25519']) });
    assert.equal(verify(keys.rsa.blob).ok, true);
    assert.equal(verify(keys.ed25519.blob).ok, true);
    const verdict = verify(keys.ecdsa.blob);
    assert.ok(!verdict.ok && verdict.error instanceof HostKeyMismatchError);
    assert.deepEqual([...verdict.error.expected].sort(), [keys.ed25519.fp, keys.rsa.fp].sort());
    assert.equal(verdict.error.actual, keys.ecdsa.fp);
  });

  it('is per node: the same key is trusted for one node and refused for another', () => {
    const policy = { knownHosts: knownHosts(['node-a', 'ed25519'], ['node-b', 'ecdsa']) };
    const a = createHostKeyVerifier(node(), policy);
    const b = createHostKeyVerifier(node({ name: 'node-b', address: '198.18.0.2', aliases: [] }), policy);
    assert.equal(a(keys.ed25519.blob).ok, true);
    assert.equal(b(keys.ed25519.blob).ok, false);
    assert.equal(b(keys.ecdsa.blob).ok, true);
  });
});

describe('hostKeyAlgorithmsFor', () => {
  it('puts the key types known_hosts trusts first, keeping the rest', () => {
    const ecdsaOnly = hostKeyAlgorithmsFor(node(), { knownHosts: knownHosts(['node-a', 'ecdsa']) });
    assert.equal(ecdsaOnly?.[0], 'ecdsa-sha2-nistp256');
    assert.ok(ecdsaOnly?.includes('ssh-ed25519'));
    const rsa = hostKeyAlgorithmsFor(node(), { knownHosts: knownHosts(['node-a', 'rsa']) });
    assert.deepEqual(rsa?.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(new Set(rsa).size, rsa?.length);
    assert.equal(hostKeyAlgorithmsFor(node(), { knownHosts: knownHosts(['node-z', 'rsa']) }), undefined);
    assert.equal(hostKeyAlgorithmsFor(node(), {}), undefined);
  });
});

describe('recheckHostKey (a connected node, by fingerprint, after trust is re-read)', () => {
  it('trusts a key still listed, refuses a replaced one with both fingerprints, a revoked one as revoked', () => {
    const listed: HostKeyPolicy = { knownHosts: knownHosts(['node-a', 'ed25519']) };
    assert.deepEqual(recheckHostKey(node(), listed, keys.ed25519.fp), { ok: true, fingerprint: keys.ed25519.fp });
    const replaced = recheckHostKey(node(), listed, keys.rsa.fp);
    assert.ok(!replaced.ok && replaced.error instanceof HostKeyMismatchError);
    assert.deepEqual([replaced.error.expected, replaced.error.actual], [[keys.ed25519.fp], keys.rsa.fp]);
    const revoked: HostKeyPolicy = { knownHosts: knownHosts(['node-a', 'ed25519'], ['*', 'ed25519', '@revoked']) };
    const verdict = recheckHostKey(node(), revoked, keys.ed25519.fp);
    assert.ok(!verdict.ok && verdict.error instanceof HostKeyRevokedError);
  });

  it('records nothing under trust on first use: a node nothing vouches for stays trusted', () => {
    const store = { knownHosts: () => KnownHosts.parse('', 'tofu'), record: () => assert.fail('recorded a key') };
    assert.equal(recheckHostKey(node(), { trustOnFirstUse: store }, keys.rsa.fp).ok, true);
  });
});
