import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import sshpk from 'sshpk';
import { KeyError } from '../../src/errors.js';
import { fingerprintOf } from '../../src/hostkeys/fingerprint.js';
import { AgentAuthenticator, type AgentAuthAttempt } from '../../src/ssh/agent-auth.js';
import { loadTrustedUserCAs, parseTrustedUserCAs } from '../../src/ssh/agent-user-ca.js';
import { AgentTestKeys, type TestCertificate, type TestKey } from './agent-test-keys.js';

const keys = new AgentTestKeys();
after(() => keys.remove());

const ca = keys.key('ca');
const otherCa = keys.key('other-ca');
const listed = keys.key('listed');
const unlisted = keys.key('unlisted');
const inventory: Record<string, { agentKeys: string[] }> = {
  n1: { agentKeys: ['# comments and junk are skipped', 'not a key', listed.publicLine] },
  n2: { agentKeys: [] },
};
const authenticator = new AgentAuthenticator({ lookupNode: (name) => inventory[name], userCAs: parseTrustedUserCAs(`# CA\n${ca.publicLine}\n`) });
const signedData = Buffer.from('session id and userauth request');

function attempt(node: string, key: TestKey | TestCertificate, extra: Partial<AgentAuthAttempt> = {}): AgentAuthAttempt {
  const keyAlgorithm = 'algorithm' in key ? key.algorithm : (key.publicLine.split(' ')[0] ?? '');
  return { node, remoteAddress: '127.0.0.1', keyAlgorithm, keyBlob: key.blob, ...extra };
}

function refusal(verdict: ReturnType<AgentAuthenticator['check']>): string {
  assert.equal(verdict.ok, false, 'expected a refusal');
  return verdict.ok ? '' : verdict.reason;
}

/** As ssh2 hands a plain ed25519 signature over: the raw signature bytes. */
function rawSignature(key: TestKey, data: Buffer): Buffer {
  const parsed = ssh2.utils.parseKey(readFileSync(key.privateFile));
  assert.ok(!(parsed instanceof Error));
  return parsed.sign(data);
}

/** As ssh2 hands a certificate's signature over: the whole SSH signature blob (algorithm and bytes). */
function sshSignature(key: TestKey, data: Buffer): Buffer {
  const signer = sshpk.parsePrivateKey(readFileSync(key.privateFile), 'ssh').createSign('sha512');
  signer.update(data);
  return signer.sign().toBuffer('ssh');
}

describe('AgentAuthenticator: listed agent keys', () => {
  it('accepts a listed key, first as a query, then with a valid signature', () => {
    assert.deepEqual(authenticator.check(attempt('n1', listed)), { ok: true, signed: false, fingerprint: fingerprint(listed), via: 'agent key' });
    const signed = authenticator.check(attempt('n1', listed, { signature: rawSignature(listed, signedData), signedData }));
    assert.equal(signed.ok && signed.signed, true);
  });

  it('refuses a bad signature', () => {
    const reason = refusal(authenticator.check(attempt('n1', listed, { signature: rawSignature(listed, Buffer.from('other data')), signedData })));
    assert.match(reason, /bad signature/);
  });

  it('refuses a key not listed for that node, and a listed key for another node', () => {
    assert.match(refusal(authenticator.check(attempt('n1', unlisted))), /is not among the agent keys of node n1/);
    assert.match(refusal(authenticator.check(attempt('n2', listed))), /is not among the agent keys of node n2/);
  });

  it('refuses an unknown node name without looking at the key', () => {
    assert.match(refusal(authenticator.check(attempt('nope', listed))), /no node named "nope"/);
  });

  it('names keys by fingerprint only, never by key material', () => {
    const reason = refusal(authenticator.check(attempt('n1', unlisted)));
    assert.ok(reason.includes(fingerprint(unlisted)));
    assert.ok(!reason.includes(unlisted.publicLine.split(' ')[1]!));
  });
});

describe('AgentAuthenticator: user certificates', () => {
  const certKey = keys.key('cert-key');
  const fresh = (options: Parameters<AgentTestKeys['certify']>[2], signer: TestKey = ca): TestCertificate => keys.certify(signer, certKey, options);

  it('accepts a certificate made with ssh-keygen -s ca -I n1 -n n1 -V +52w, and its signature', () => {
    const cert = fresh({ id: 'n1', principals: ['n1'], validity: '+52w' });
    const query = authenticator.check(attempt('n1', cert));
    assert.equal(query.ok, true, query.ok ? '' : query.reason);
    const signed = authenticator.check(attempt('n1', cert, { signature: sshSignature(certKey, signedData), signedData }));
    assert.equal(signed.ok && signed.signed, true);
    assert.match(signed.ok ? signed.via : '', /id "n1" .*signed by CA SHA256:/);
  });

  it('verifies signatures of certified ed25519 keys whose first byte has its high bit set', () => {
    // sshpk's certificate parser mangles exactly these keys (see agent-certificate.ts).
    let key = keys.key('high-bit-0');
    for (let i = 1; i < 40 && ((key.blob[key.blob.length - 32] ?? 0) & 0x80) === 0; i++) key = keys.key(`high-bit-${i}`);
    const cert = keys.certify(ca, key, { principals: ['n1'] });
    const signed = authenticator.check(attempt('n1', cert, { signature: sshSignature(key, signedData), signedData }));
    assert.equal(signed.ok && signed.signed, true, signed.ok ? '' : signed.reason);
  });

  it('refuses a signature that the certified key did not make', () => {
    const cert = fresh({ principals: ['n1'] });
    assert.match(refusal(authenticator.check(attempt('n1', cert, { signature: sshSignature(unlisted, signedData), signedData }))), /bad signature/);
  });

  // Issue 15: a reload rotates the user CA file in place.
  it('setUserCAs: the next check trusts the new CAs only; none refuses every certificate', () => {
    const rotating = new AgentAuthenticator({ lookupNode: (name) => inventory[name], userCAs: parseTrustedUserCAs(ca.publicLine) });
    const newCa = keys.key('ca-2026');
    const oldCert = fresh({ principals: ['n1'] });
    assert.equal(rotating.check(attempt('n1', oldCert)).ok, true);
    rotating.setUserCAs(parseTrustedUserCAs(newCa.publicLine));
    assert.match(refusal(rotating.check(attempt('n1', oldCert))), /CA|trusted/i);
    assert.equal(rotating.check(attempt('n1', fresh({ principals: ['n1'] }, newCa))).ok, true);
    rotating.setUserCAs(undefined);
    assert.match(refusal(rotating.check(attempt('n1', fresh({ principals: ['n1'] }, newCa)))), /no agent user CA is configured/);
  });

  it('refuses a certificate for another principal, and one without principals', () => {
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n2'] })))), /node n1 is not among its principals/);
    assert.match(refusal(authenticator.check(attempt('n1', fresh({})))), /node n1 is not among its principals/);
  });

  it('refuses an expired certificate and one not yet valid', () => {
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n1'], validity: '20200101:20200201' })))), /expired at 2020-02-01/);
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n1'], validity: '20990101:20990201' })))), /not valid before 2099-01-01/);
  });

  it('accepts a certificate valid forever', () => {
    assert.equal(authenticator.check(attempt('n1', fresh({ principals: ['n1'] }))).ok, true);
  });

  it('refuses a certificate from an untrusted CA', () => {
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n1'] }, otherCa)))), /not signed by a trusted CA/);
  });

  it('refuses a forged certificate: the trusted CA named as signer, the signed fields altered', () => {
    // sshpk's isSignedByKey() would accept this one: it compares the embedded CA key and never the signature.
    const cert = fresh({ id: 'n9', principals: ['n9'] });
    const forged = Buffer.from(cert.blob);
    const at = forged.indexOf(Buffer.from('n9\0', 'latin1').subarray(0, 2), 60);
    forged.write('n1', forged.indexOf('n9', at + 2), 'latin1'); // the principal, not the key id
    assert.equal(sshpk.parseCertificate(`${cert.algorithm} ${forged.toString('base64')}`, 'openssh').subjects[0]?.uid, 'n1');
    assert.match(refusal(authenticator.check(attempt('n1', { ...cert, blob: forged }))), /not signed by a trusted CA/);
  });

  it('refuses a host certificate', () => {
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n1'], host: true })))), /not a user certificate/);
  });

  it('refuses a critical option it does not enforce, and honours source-address', () => {
    assert.match(refusal(authenticator.check(attempt('n1', fresh({ principals: ['n1'], options: ['force-command=/bin/true'] })))), /critical option force-command is not supported/);
    const limited = fresh({ principals: ['n1'], options: ['source-address=10.0.0.0/8,127.0.0.1'] });
    assert.equal(authenticator.check(attempt('n1', limited)).ok, true);
    assert.equal(authenticator.check(attempt('n1', limited, { remoteAddress: '::ffff:127.0.0.1' })).ok, true);
    assert.match(refusal(authenticator.check(attempt('n1', limited, { remoteAddress: '127.0.0.2' }))), /source address 127.0.0.2 is not in its source-address list/);
  });

  it('refuses certificates when no CA is configured', () => {
    const noCa = new AgentAuthenticator({ lookupNode: (name) => inventory[name] });
    assert.match(refusal(noCa.check(attempt('n1', fresh({ principals: ['n1'] })))), /no agent user CA is configured/);
  });

  it('refuses a certificate whose type does not match the algorithm offered', () => {
    const cert = fresh({ principals: ['n1'] });
    assert.match(refusal(authenticator.check(attempt('n1', cert, { keyAlgorithm: 'ecdsa-sha2-nistp256-cert-v01@openssh.com' }))), /does not match/);
  });
});

describe('loadTrustedUserCAs', () => {
  it('reads CA lines and names the file when it cannot', async () => {
    const file = join(keys.dir, 'user_ca');
    writeFileSync(file, `${ca.publicLine}\n\n${otherCa.publicLine}\n`);
    assert.deepEqual((await loadTrustedUserCAs(file)).map((c) => c.fingerprint), [fingerprint(ca), fingerprint(otherCa)]);
    await assert.rejects(loadTrustedUserCAs(join(keys.dir, 'missing')), (err: unknown) => err instanceof KeyError && /missing does not exist/.test(err.message));
    writeFileSync(file, 'ssh-ed25519 garbage\n');
    await assert.rejects(loadTrustedUserCAs(file), (err: unknown) => err instanceof KeyError && /user_ca:1: not an OpenSSH public key line/.test(err.message));
    writeFileSync(file, '# only a comment\n');
    await assert.rejects(loadTrustedUserCAs(file), (err: unknown) => err instanceof KeyError && /holds no CA public key/.test(err.message));
  });
});

function fingerprint(key: TestKey): string {
  return fingerprintOf(key.blob);
}
