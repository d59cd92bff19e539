// The daemon's agent listener takes its SSH keepalive from the config's ssh section, so a frozen agent is
// found within the bound the operator set (the system test shows it end to end with a SIGSTOPped ssh -R).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentKeepalive } from '../../src/daemon/agent-listener.js';

test('ssh.keepaliveIntervalMs and keepaliveCountMax reach the agent listener; 0 (off) passes through', () => {
  assert.deepEqual(agentKeepalive({ keepaliveIntervalMs: 1_000, keepaliveCountMax: 2 }), { keepaliveIntervalMs: 1_000, keepaliveCountMax: 2 });
  assert.deepEqual(agentKeepalive({ keepaliveIntervalMs: 0 }), { keepaliveIntervalMs: 0 });
});

test('unset keepalive settings leave the listener its own defaults', () => {
  assert.deepEqual(agentKeepalive({}), {});
});
