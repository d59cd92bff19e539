// The daemon's startup warning when kubelet health probes would accept any certificate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromFlags, unverifiedKubeletWarning } from '../../src/config/index.js';

test('kubelet-https probes without a CA: the warning names the flag and the config key', () => {
  const warning = unverifiedKubeletWarning(configFromFlags({ inventory: 'n.yaml' }));
  assert.match(warning ?? '', /kubelet health probes are unverified/);
  assert.match(warning ?? '', /--kubelet-ca <file>/);
  assert.match(warning ?? '', /healthCheck\.caFile/);
});

test('no warning with a CA, or when the health check is not kubelet-https', () => {
  assert.equal(unverifiedKubeletWarning(configFromFlags({ inventory: 'n.yaml', kubeletCa: '/ca.crt' })), undefined);
  const tcp = configFromFlags({ inventory: 'n.yaml' });
  tcp.healthCheck.kind = 'tcp';
  assert.equal(unverifiedKubeletWarning(tcp), undefined);
  tcp.healthCheck.kind = 'ssh';
  assert.equal(unverifiedKubeletWarning(tcp), undefined);
});
