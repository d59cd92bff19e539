// What a reload names in its one log line: the changed fields (names only), and what needs a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configFromFlags, type EgressConfig } from '../../src/config/index.js';
import { changedFields, needingRestart } from '../../src/daemon/config-changes.js';
import { createLogger, reconfigureLogger } from '../../src/log.js';

const base: EgressConfig = configFromFlags({ inventory: 'nodes.yaml', user: 'egress', identity: 'id_ed25519', connectListen: '127.0.0.1:8131' });

test('changedFields names each changed field down to the listener, never a value', () => {
  const next: EgressConfig = {
    ...base,
    source: 'elsewhere',
    ssh: { ...base.ssh, identityFile: '/secret/new-key', connectionsPerNode: 2 },
    limits: { maxConnections: 5 },
    log: { level: 'debug' },
    listeners: { ...base.listeners, connect: { tcp: { host: '127.0.0.1', port: 9131 } } },
  };
  const changed = changedFields(base, next);
  assert.deepEqual(changed, ['limits.maxConnections', 'listeners.connect.tcp', 'log.level', 'ssh.connectionsPerNode', 'ssh.identityFile']);
  assert.doesNotMatch(JSON.stringify(changed), /secret/, 'the new key path is not shown');
  assert.deepEqual(changedFields(base, { ...base, source: 'again' }), [], 'where the config came from is no change');
});

test('needingRestart: only the agent listener\'s address or host key, or the keepalive its connections were started with', () => {
  assert.deepEqual(needingRestart(base, { ...base, log: { level: 'warn' } }), []);
  const agents = { host: '0.0.0.0', port: 2222, hostKeyFile: '/etc/ssh-egress/agent_host_key' };
  const withAgents = { ...base, listeners: { ...base.listeners, agents } };
  assert.deepEqual(needingRestart(base, withAgents), ['listeners.agents']);
  assert.deepEqual(needingRestart(withAgents, { ...withAgents, listeners: { ...withAgents.listeners, agents: { ...agents, port: 2223 } } }), ['listeners.agents']);
  const withCa = { ...withAgents, listeners: { ...withAgents.listeners, agents: { ...agents, userCAFile: '/etc/ssh-egress/agent_user_ca.pub' } } };
  assert.deepEqual(needingRestart(withAgents, withCa), [], 'the user CA file is read again in place');
  assert.deepEqual(needingRestart(withAgents, { ...withAgents, ssh: { ...withAgents.ssh, keepaliveIntervalMs: 1000 } }), ['ssh.keepalive* (of agent connections)']);
  assert.deepEqual(needingRestart(base, { ...base, ssh: { ...base.ssh, keepaliveIntervalMs: 1000 } }), [], 'no agent listener: nothing keeps the old keepalive');
});

test('reconfigureLogger changes the level at once, for child loggers too', () => {
  const log = createLogger({ level: 'info' });
  const child = log.child({ component: 'pool' }).child({ node: 'n1' });
  assert.equal(child.isLevelEnabled('debug'), false);
  reconfigureLogger(log, { level: 'debug', format: 'text' });
  assert.equal(child.isLevelEnabled('debug'), true);
  reconfigureLogger(log, { level: 'warn' });
  assert.equal(child.isLevelEnabled('info'), false);
  assert.equal(child.isLevelEnabled('warn'), true);
});
