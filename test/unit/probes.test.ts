// Which probe failures mean the SSH path is dead (reconnect) and which are the node's answer (unhealthy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelOpenError, DialTimeoutError, TunnelClosedError } from '../../src/errors.js';
import { ProbeConnectionError } from '../../src/tunnel/probe-failure.js';
import { kubeletVerification, tcpProbe } from '../../src/tunnel/probes.js';
import { resolveHealthCheck } from '../../src/tunnel/health-check-options.js';
import type { Tunnel } from '../../src/tunnel/tunnel.js';
import { node } from './fake-connector.js';

function tunnelFailingWith(error: Error): Tunnel {
  return { spec: node('n1'), openStream: () => Promise.reject(error) } as unknown as Tunnel;
}

const limits = { signal: new AbortController().signal, timeoutMs: 1000 };

test('a channel the SSH connection cannot open is a ProbeConnectionError that keeps the code', async () => {
  for (const cause of [
    new TunnelClosedError('n1', 'the SSH connection cannot open channels (Not connected)'),
    new DialTimeoutError('health check of 198.18.0.11:10250', 1000, 'opening the SSH channel', { node: 'n1' }),
  ]) {
    await assert.rejects(tcpProbe(undefined)(tunnelFailingWith(cause), limits), (err: Error) => {
      assert.ok(err instanceof ProbeConnectionError, cause.message);
      assert.equal(err.code, cause.code);
      assert.equal(err.cause, cause);
      return true;
    });
  }
});

test('a port the node refuses is the node\'s answer, not a dead SSH path', async () => {
  const refused = new ChannelOpenError('n1', '198.18.0.11:10250', 2, 'Connection refused');
  await assert.rejects(tcpProbe(undefined)(tunnelFailingWith(refused), limits), (err: Error) => err === refused);
});

test('kubeletVerification: true with a CA, false without, undefined for other kinds', () => {
  assert.equal(kubeletVerification(resolveHealthCheck({ tls: { ca: 'PEM' } })), true);
  assert.equal(kubeletVerification(resolveHealthCheck({})), false);
  assert.equal(kubeletVerification(resolveHealthCheck({ kind: 'tcp' })), undefined);
  assert.equal(kubeletVerification(resolveHealthCheck({ kind: 'ssh' })), undefined);
});
