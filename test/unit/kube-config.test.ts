// inventory.kubernetes in the config file, --kubeconfig / --context on the command line, and loading the
// KubeConfig: every problem a ConfigError naming the setting.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { fileURLToPath } from 'node:url';
import { applyFlags, configFromFlags, loadConfig, parseConfig, type EgressConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { settingsFingerprint } from '../../src/kube/cluster-watch.js';
import { apiServerOf, loadKubeConfig } from '../../src/kube/kube-config.js';
import { validDoc, withValue, yaml } from './config-fixtures.js';

let dir: string;
let kubeconfig: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kube-config-test-'));
  kubeconfig = join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'prod', cluster: { server: 'https://192.0.2.10:6443', 'certificate-authority-data': Buffer.from('not a real CA').toString('base64') } },
        { name: 'lab', cluster: { server: 'https://192.0.2.20:6443' } },
      ],
      users: [{ name: 'admin', user: { token: 'abc' } }],
      contexts: [
        { name: 'prod', context: { cluster: 'prod', user: 'admin' } },
        { name: 'lab', context: { cluster: 'lab', user: 'admin' } },
      ],
      'current-context': 'prod',
    }),
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const kubeDoc = (kubernetes: Record<string, unknown>) => withValue(validDoc(), ['inventory'], { kubernetes });

/** Runs `fn` with environment variables set (undefined: unset), then restores them. */
/** Runs `fn` (and waits for it: loading a kubeconfig is async) with these environment variables. */
async function withEnv(vars: Record<string, string | undefined>, fn: () => Promise<void>): Promise<void> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>): void => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
  apply(vars);
  try {
    await fn();
  } finally {
    apply(saved);
  }
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

async function rejectsWithConfigError(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('inventory.kubernetes in the config file', () => {
  test('maps onto a kubernetes inventory, the kubeconfig path taken from the file directory', () => {
    const config = parseConfig(
      yaml(kubeDoc({ kubeconfig: 'kube/config', context: 'lab', labelSelector: 'node-role.kubernetes.io/worker', readyOnly: true, addressTypes: ['ExternalIP'], sshPort: 2222, discoverServiceCIDRs: false })),
      'egress.yaml',
      '/etc/ssh-egress',
    );
    assert.deepEqual(config.inventory, {
      kind: 'kubernetes',
      kubeconfig: '/etc/ssh-egress/kube/config',
      context: 'lab',
      labelSelector: 'node-role.kubernetes.io/worker',
      readyOnly: true,
      addressTypes: ['ExternalIP'],
      sshPort: 2222,
      discoverServiceCIDRs: false,
    });
    assert.deepEqual(parseConfig(yaml(kubeDoc({ inCluster: true })), 'egress.yaml', '/etc').inventory, { kind: 'kubernetes', inCluster: true });
    assert.deepEqual(parseConfig(yaml(kubeDoc({})), 'egress.yaml', '/etc').inventory, { kind: 'kubernetes' }, 'empty: kubectl default rules');
  });

  test('examples/ssh-egress-kubernetes.yaml loads', async () => {
    const config = await loadConfig(fileURLToPath(new URL('../../examples/ssh-egress-kubernetes.yaml', import.meta.url)));
    assert.deepEqual(config.inventory, {
      kind: 'kubernetes',
      kubeconfig: '/etc/kubernetes/ssh-egress.conf',
      labelSelector: '!node-role.kubernetes.io/control-plane',
      readyOnly: false,
      addressTypes: ['InternalIP', 'ExternalIP', 'Hostname'],
      sshPort: 22,
      discoverServiceCIDRs: true,
    });
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['two inventories', withValue(kubeDoc({}), ['inventory', 'file'], 'nodes.yaml'), /^egress\.yaml: inventory: give exactly one of file, nodes or kubernetes, not several$/],
    ['kubeconfig and inCluster', kubeDoc({ kubeconfig: 'k', inCluster: true }), /inventory\.kubernetes\.inCluster: give kubeconfig or inCluster, not both/],
    ['context with inCluster', kubeDoc({ inCluster: true, context: 'x' }), /inventory\.kubernetes\.context: only applies to a kubeconfig/],
    ['a misspelt key', kubeDoc({ kubeConfig: 'k' }), /inventory\.kubernetes\.kubeConfig: unknown field \(known fields: kubeconfig, context, inCluster, labelSelector, readyOnly, addressTypes, sshPort, discoverServiceCIDRs\)/],
    ['a bad port', kubeDoc({ sshPort: 70000 }), /inventory\.kubernetes\.sshPort: 70000 is not a port number/],
    ['an empty selector', kubeDoc({ labelSelector: ' ' }), /inventory\.kubernetes\.labelSelector: " " is not a label selector/],
    ['an unknown address type', kubeDoc({ addressTypes: ['InternalIp'] }), /inventory\.kubernetes\.addressTypes\[0\]: "InternalIp" is not one of Hostname, InternalIP/],
    ['no address types', kubeDoc({ addressTypes: [] }), /inventory\.kubernetes\.addressTypes: name at least one address type/],
    ['addressTypes beside kubernetes', withValue(kubeDoc({}), ['inventory', 'addressTypes'], ['InternalIP']), /set inventory\.kubernetes\.addressTypes/],
  ];
  for (const [what, doc, message] of bad) {
    test(`refused: ${what}`, () => {
      assert.match(configError(() => parseConfig(yaml(doc), 'egress.yaml', '/etc')).message, message);
    });
  }
});

describe('--kubeconfig and --context', () => {
  const fileConfig = (): EgressConfig => parseConfig(yaml(validDoc()), 'egress.yaml', '/etc/ssh-egress');
  const kubeConfig = (): EgressConfig => parseConfig(yaml(kubeDoc({ kubeconfig: 'kc', labelSelector: 'zone=a', sshPort: 2200 })), 'egress.yaml', '/etc/ssh-egress');

  test('alone they make a kubernetes inventory (no --inventory needed)', () => {
    assert.deepEqual(configFromFlags({ kubeconfig: 'kube.yaml' }).inventory, { kind: 'kubernetes', kubeconfig: resolve('kube.yaml') });
    assert.deepEqual(configFromFlags({ kubeconfig: '/k', context: 'lab' }).inventory, { kind: 'kubernetes', kubeconfig: '/k', context: 'lab' });
    assert.deepEqual(configFromFlags({ context: 'lab' }).inventory, { kind: 'kubernetes', context: 'lab' }, 'the default kubeconfig, as kubectl');
    assert.match(configError(() => configFromFlags({})).message, /^--inventory: is required \(or give --config with an inventory section, or --kubeconfig/);
  });

  test('over a file: --kubeconfig replaces the inventory, or keeps the other kubernetes settings', () => {
    assert.deepEqual(applyFlags(fileConfig(), { kubeconfig: '/k' }).inventory, { kind: 'kubernetes', kubeconfig: '/k' });
    assert.deepEqual(applyFlags(kubeConfig(), { kubeconfig: '/other', context: 'lab' }).inventory, {
      kind: 'kubernetes',
      kubeconfig: '/other',
      labelSelector: 'zone=a',
      sshPort: 2200,
      context: 'lab',
    });
    assert.deepEqual(applyFlags(kubeConfig(), { context: 'lab' }).inventory, { kind: 'kubernetes', kubeconfig: '/etc/ssh-egress/kc', labelSelector: 'zone=a', sshPort: 2200, context: 'lab' });
    assert.equal(applyFlags(kubeConfig(), { inventory: '/nodes.yaml' }).inventory.kind, 'file', '--inventory replaces a kubernetes inventory');
  });

  test('refused: --context over a file inventory, with --inventory, or empty', () => {
    assert.match(configError(() => applyFlags(fileConfig(), { context: 'lab' })).message, /^--context: applies to a Kubernetes inventory: give --kubeconfig too \(egress\.yaml has inventory\.inline\)/);
    assert.match(configError(() => configFromFlags({ inventory: 'n.yaml', kubeconfig: 'k' })).message, /^--kubeconfig: cannot be combined with --inventory/);
    assert.match(configError(() => configFromFlags({ context: '' })).message, /^--context: "" is not a context name/);
    const inCluster = parseConfig(yaml(kubeDoc({ inCluster: true })), 'egress.yaml', '/etc');
    assert.match(configError(() => applyFlags(inCluster, { context: 'lab' })).message, /uses inventory\.kubernetes\.inCluster, which has no contexts/);
    assert.deepEqual(applyFlags(inCluster, { kubeconfig: '/k' }).inventory, { kind: 'kubernetes', kubeconfig: '/k' }, '--kubeconfig replaces inCluster');
  });
});

describe('loadKubeConfig', () => {
  test('a kubeconfig file, its current context or the one asked for', async () => {
    assert.equal(apiServerOf(await loadKubeConfig({ kubeconfig })), 'https://192.0.2.10:6443');
    assert.equal(apiServerOf(await loadKubeConfig({ kubeconfig, context: 'lab' })), 'https://192.0.2.20:6443');
  });

  test('problems name the setting', async () => {
    assert.match((await rejectsWithConfigError(loadKubeConfig({ kubeconfig: join(dir, 'missing') }))).message, /^inventory\.kubernetes\.kubeconfig: cannot load .*missing: no such file$/);
    assert.match((await rejectsWithConfigError(loadKubeConfig({ kubeconfig, context: 'staging' }))).message, /^inventory\.kubernetes\.context: no context "staging" in the kubeconfig \(it has prod, lab\)$/);
  });

  test('inCluster needs the pod environment', async () => {
    await withEnv({ KUBERNETES_SERVICE_HOST: undefined }, async () => {
      assert.match((await rejectsWithConfigError(loadKubeConfig({ inCluster: true }))).message, /^inventory\.kubernetes\.inCluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/);
    });
  });

  test('default rules: $KUBECONFIG, then ~/.kube/config; never a silent http://localhost:8080', async () => {
    await withEnv({ KUBECONFIG: kubeconfig }, async () => {
      assert.equal(apiServerOf(await loadKubeConfig({ context: 'lab' })), 'https://192.0.2.20:6443');
    });
    await withEnv({ KUBECONFIG: undefined, HOME: dir, KUBERNETES_SERVICE_HOST: undefined }, async () => {
      assert.match((await rejectsWithConfigError(loadKubeConfig({}))).message, /^inventory\.kubernetes: no kubeconfig: give inventory\.kubernetes\.kubeconfig \(or --kubeconfig\), set \$KUBECONFIG/);
    });
  });

  test('the settings fingerprint changes with the settings and with the kubeconfig content', async () => {
    const file = join(dir, 'rotating');
    await writeFile(file, 'token: a');
    const first = settingsFingerprint({ kubeconfig: file, labelSelector: 'a' });
    assert.equal(settingsFingerprint({ labelSelector: 'a', kubeconfig: file }), first, 'key order does not matter');
    assert.notEqual(settingsFingerprint({ kubeconfig: file, labelSelector: 'b' }), first);
    await writeFile(file, 'token: b');
    assert.notEqual(settingsFingerprint({ kubeconfig: file, labelSelector: 'a' }), first, 'a rotated credential is a change');
  });
});
