// The check engine's step logic against a scripted connector: which step fails for which error, the
// plain-words reason, skipped steps, timings, and the JSON shape, without any network.
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { describe, it } from 'node:test';
import { checkNode, type NodeCheckOptions } from '../../src/check/index.js';
import {
  AuthenticationError,
  ChannelOpenError,
  ConnectError,
  HandshakeError,
  HostKeyMismatchError,
  HostKeyUnknownError,
  HOST_KEY_HINT,
} from '../../src/errors.js';
import type { ConnectObserver } from '../../src/ssh/ssh2-connector.js';
import { FakeSession, node as nodeSpec } from './fake-connector.js';

const node = nodeSpec('n1');

type Script = (observer: ConnectObserver) => Promise<FakeSession>;

function options(script: Script, extra: Partial<NodeCheckOptions> = {}): NodeCheckOptions {
  return {
    connectorFor: (observer) => () => script(observer),
    user: 'root',
    connectTimeoutMs: 1000,
    handshakeTimeoutMs: 1500,
    stepTimeoutMs: 100,
    kubelet: undefined,
    ...extra,
  };
}

/** Reaches `upTo` milestones, then fails with `error` (or succeeds with a session). */
function scripted(upTo: number, error?: Error, session = new FakeSession()): Script {
  return async (o) => {
    if (upTo >= 1) o.tcpConnected?.(node);
    if (upTo >= 2) o.hostKeyVerified?.(node, 'SHA256:presented');
    if (upTo >= 3) o.authenticated?.(node);
    if (error) throw error;
    return session;
  };
}

const stepStates = (r: Awaited<ReturnType<typeof checkNode>>): string[] =>
  r.steps.map((s) => `${s.name}:${s.ok ? 'ok' : s.skipped ? 'skipped' : 'failed'}`);

describe('checkNode', () => {
  it('all SSH steps pass; --no-kubelet skips the kubelet steps yet the node is ok; the session is closed', async () => {
    const session = new FakeSession();
    const r = await checkNode(node, options(scripted(3, undefined, session)));
    assert.equal(r.ok, true);
    assert.deepEqual(stepStates(r), ['tcp:ok', 'handshake:ok', 'auth:ok', 'channel:skipped', 'kubelet:skipped']);
    assert.equal(r.hostKeyFingerprint, 'SHA256:presented');
    assert.equal(r.kubelet, null);
    assert.ok(r.steps.slice(0, 3).every((s) => typeof s.ms === 'number' && s.ms >= 0 && s.error === null));
    assert.ok(session.closed);
    assert.deepEqual(Object.keys(r), ['name', 'address', 'sshPort', 'ok', 'ms', 'steps', 'hostKeyFingerprint', 'kubelet']);
  });

  it('connection refused fails tcp with the address, and skips everything after', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const r = await checkNode(node, options(scripted(0, new ConnectError('n1', 'connection refused (198.18.0.11:22)', refused))));
    assert.equal(r.ok, false);
    assert.deepEqual(stepStates(r), ['tcp:failed', 'handshake:skipped', 'auth:skipped', 'channel:skipped', 'kubelet:skipped']);
    assert.deepEqual(r.steps[0]!.error, { code: 'ERR_CONNECT', message: 'connection refused (198.18.0.11:22)' });
    assert.deepEqual(r.steps[1], { name: 'handshake', ok: false, skipped: true, ms: null, error: null });
  });

  it('a TCP timeout says "timed out after N ms"', async () => {
    const r = await checkNode(node, options(scripted(0, new ConnectError('n1', 'no answer from 198.18.0.11:22 within 1000 ms'))));
    assert.equal(r.steps[0]!.error?.message, 'timed out after 1000 ms (TCP connect to 198.18.0.11:22)');
  });

  it('a host key mismatch fails the handshake with both fingerprints, and reports the presented key', async () => {
    const r = await checkNode(node, options(scripted(1, new HostKeyMismatchError('n1', ['SHA256:expected'], 'SHA256:actual'))));
    assert.deepEqual(stepStates(r).slice(0, 3), ['tcp:ok', 'handshake:failed', 'auth:skipped']);
    assert.deepEqual(r.steps[1]!.error, { code: 'ERR_HOST_KEY_MISMATCH', message: 'host key mismatch: expected SHA256:expected, got SHA256:actual' });
    assert.equal(r.hostKeyFingerprint, 'SHA256:actual');
  });

  it('an unknown host key drops the node name from the message', async () => {
    const r = await checkNode(node, options(scripted(1, new HostKeyUnknownError('n1', '198.18.0.11, n1 in kh', 'SHA256:actual'))));
    assert.equal(r.steps[1]!.error?.message, `no trusted host key (looked up 198.18.0.11, n1 in kh); it presented SHA256:actual: ${HOST_KEY_HINT}`);
  });

  it('authentication refused names the user', async () => {
    const r = await checkNode(node, options(scripted(2, new AuthenticationError('n1', 'root'))));
    assert.deepEqual(stepStates(r).slice(0, 4), ['tcp:ok', 'handshake:ok', 'auth:failed', 'channel:skipped']);
    assert.deepEqual(r.steps[2]!.error, { code: 'ERR_AUTH', message: 'authentication refused for user root' });
  });

  it('a handshake timeout before key exchange fails the handshake; after it, authentication', async () => {
    const timeout = (): HandshakeError => new HandshakeError('n1', 'no handshake within 1500 ms', Object.assign(new Error('Timed out'), { level: 'client-timeout' }));
    const before = await checkNode(node, options(scripted(1, timeout())));
    assert.deepEqual(before.steps[1]!.error, { code: 'ERR_HANDSHAKE', message: 'timed out after 1500 ms (SSH handshake with 198.18.0.11:22)' });
    const during = await checkNode(node, options(scripted(2, timeout())));
    assert.equal(during.steps[1]!.ok, true);
    assert.deepEqual(during.steps[2]!.error, { code: 'ERR_HANDSHAKE', message: 'timed out after 1500 ms (authentication with 198.18.0.11:22)' });
  });

  it('a retried attempt that then fails at TCP forgets the first attempt\'s milestones', async () => {
    const script: Script = async (o) => {
      o.tcpConnected?.(node); // attempt 1 connected, then sshd dropped it; attempt 2 is refused
      throw new ConnectError('n1', 'connection refused', Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    };
    const r = await checkNode(node, options(script));
    assert.deepEqual(stepStates(r).slice(0, 2), ['tcp:failed', 'handshake:skipped']);
  });

  it('a refused channel to the kubelet port fails the channel step', async () => {
    const session = new FakeSession();
    session.openChannel = () => Promise.reject(new ChannelOpenError('n1', '198.18.0.11:10250', 2, 'Connection refused'));
    const r = await checkNode(node, options(scripted(3, undefined, session), { kubelet: { tls: { rejectUnauthorized: false }, path: '/healthz' } }));
    assert.deepEqual(stepStates(r), ['tcp:ok', 'handshake:ok', 'auth:ok', 'channel:failed', 'kubelet:skipped']);
    assert.deepEqual(r.steps[3]!.error, {
      code: 'ERR_CHANNEL_OPEN',
      message: 'sshd could not open a channel to 198.18.0.11:10250: connect failed (Connection refused)',
    });
    assert.ok(session.closed);
  });

  it('a kubelet that never answers times out in plain words', async () => {
    const session = new FakeSession();
    const stream = new Duplex({ read() {}, write: (_chunk, _encoding, done) => done() });
    session.openChannel = () => Promise.resolve({ stream, whenWritable: (proceed) => proceed() });
    const r = await checkNode(node, options(scripted(3, undefined, session), { kubelet: { tls: { rejectUnauthorized: false }, path: '/healthz' } }));
    assert.deepEqual(stepStates(r).slice(3), ['channel:ok', 'kubelet:failed']);
    assert.deepEqual(r.steps[4]!.error, { code: 'ERR_DIAL_TIMEOUT', message: 'timed out after 100 ms (waiting for the kubelet)' });
  });

  it('a port that does not speak TLS: OpenSSL\'s reason, not its hex', async () => {
    // The fake channel echoes our ClientHello back, which OpenSSL calls an unexpected message.
    const r = await checkNode(node, options(scripted(3), { kubelet: { tls: { rejectUnauthorized: false }, path: '/healthz' } }));
    assert.deepEqual(r.steps[4]!.error, { code: 'ERR_SSL_UNEXPECTED_MESSAGE', message: 'TLS with the kubelet failed: unexpected message' });
  });

  it('a channel that never opens times out at the step timeout', async () => {
    const session = new FakeSession();
    session.openChannel = () => new Promise(() => undefined);
    const r = await checkNode(node, options(scripted(3, undefined, session), { kubelet: { tls: {}, path: '/healthz' } }));
    assert.deepEqual(r.steps[3]!.error, { code: 'ERR_DIAL_TIMEOUT', message: 'timed out after 100 ms (opening a channel to the kubelet port)' });
  });
});
