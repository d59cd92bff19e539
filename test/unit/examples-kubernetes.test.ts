// The Kubernetes files in examples/: every object validated against the Kubernetes API schemas
// (kubernetes-models' validators), unknown fields refused as `kubectl apply --validate=strict` does, the
// apiserver's EgressSelectorConfiguration checked against its known shape, and the pieces agreeing with the
// daemon configs they go with (socket path, admin port).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { IPod } from 'kubernetes-models/v1';
import { z } from 'zod';
import { loadConfig } from '../../src/config/index.js';
import { isRecord } from '../../src/util/is-record.js';
import { hasModel, modelTypeName, unknownFields } from './kube-unknown-fields.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
type KubeObject = Record<string, unknown> & { apiVersion: string; kind: string };

/** Every document of every examples/*.yaml that is a Kubernetes object (apiVersion and kind), by file. */
function kubernetesObjects(): Array<{ file: string; object: KubeObject }> {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(`${EXAMPLES}${file}`, 'utf8'))
        .map((doc) => {
          assert.deepEqual(doc.errors, [], `${file} parses`);
          return doc.toJS() as unknown;
        })
        .filter((object): object is KubeObject => isRecord(object) && typeof object.apiVersion === 'string' && typeof object.kind === 'string')
        .map((object) => ({ file, object })),
    );
}

const objects = kubernetesObjects();
const byKind = (kind: string): KubeObject => {
  const found = objects.find((o) => o.object.kind === kind);
  assert.ok(found, `no ${kind} in examples/`);
  return found.object;
};

/** kubernetes-models' class for an apiVersion and kind, or undefined when it has no schema for them. */
async function modelOf({ apiVersion, kind }: KubeObject): Promise<(new (data: unknown) => { validate(): void }) | undefined> {
  try {
    const group = (await import(`kubernetes-models/${apiVersion}`)) as Record<string, unknown>;
    return group[kind] as (new (data: unknown) => { validate(): void }) | undefined;
  } catch {
    return undefined;
  }
}

/**
 * The apiserver.k8s.io EgressSelectorConfiguration (kube-apiserver's --egress-selector-config-file), as in
 * k8s.io/apiserver/pkg/apis/apiserver/v1beta1; kubernetes-models has no schema for it (it is no API object).
 */
const transport = z.strictObject({
  tcp: z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    tlsConfig: z.strictObject({ caBundle: z.string().optional(), clientKey: z.string().optional(), clientCert: z.string().optional() }).optional(),
  }).optional(),
  uds: z.strictObject({ udsName: z.string().startsWith('/') }).optional(),
});
const egressSelectorConfiguration = z.strictObject({
  apiVersion: z.enum(['apiserver.k8s.io/v1beta1', 'apiserver.k8s.io/v1alpha1', 'apiserver.k8s.io/v1']),
  kind: z.literal('EgressSelectorConfiguration'),
  egressSelections: z.array(
    z.strictObject({
      name: z.enum(['cluster', 'controlplane', 'etcd']),
      connection: z
        .strictObject({ proxyProtocol: z.enum(['HTTPConnect', 'GRPC', 'Direct']), transport: transport.optional() })
        .refine((c) => (c.proxyProtocol === 'Direct') === (c.transport === undefined), 'Direct takes no transport; HTTPConnect and GRPC need one'),
    }),
  ),
});
const SCHEMAS_OF_OUR_OWN: Record<string, z.ZodType> = { EgressSelectorConfiguration: egressSelectorConfiguration };

test('examples/ holds the manifests the docs point to', () => {
  const files = new Set(objects.map((o) => `${o.file} ${o.object.kind}`));
  for (const expected of ['ssh-egress-agent-daemonset.yaml DaemonSet', 'ssh-egress-static-pod.yaml Pod', 'egress-selector-configuration.yaml EgressSelectorConfiguration']) {
    assert.ok(files.has(expected), `${expected} missing; found ${[...files].join(', ')}`);
  }
});

describe('every Kubernetes object in examples/ is valid', () => {
  for (const { file, object } of objects) {
    test(`${file}: ${object.apiVersion} ${object.kind}`, async () => {
      const own = SCHEMAS_OF_OUR_OWN[object.kind];
      if (own) {
        own.parse(object);
        return;
      }
      const Model = await modelOf(object);
      assert.ok(Model, `no schema for ${object.apiVersion} ${object.kind} in kubernetes-models (add one to SCHEMAS_OF_OUR_OWN)`);
      new Model(object).validate();
      const type = modelTypeName(object.apiVersion, object.kind);
      assert.ok(hasModel(type), `@kubernetes/client-node has no ${type} to check the fields against`);
      assert.deepEqual(unknownFields(object, type), [], 'fields the API type does not have');
    });
  }
});

describe('the pieces agree with the daemon configs', () => {
  test('kube-apiserver dials the socket examples/ssh-egress.yaml listens on; the static pod shares its directory', async () => {
    const config = await loadConfig(`${EXAMPLES}ssh-egress.yaml`);
    const socket = config.listeners.connect?.socket?.path;
    assert.ok(socket);
    const selector = egressSelectorConfiguration.parse(byKind('EgressSelectorConfiguration'));
    const cluster = selector.egressSelections.find((s) => s.name === 'cluster');
    assert.equal(cluster?.connection.transport?.uds?.udsName, socket);
    const pod = byKind('Pod') as unknown as IPod; // validated above
    assert.ok(pod.spec?.containers[0]?.volumeMounts?.some((m) => m.mountPath === dirname(socket)), `the pod mounts ${dirname(socket)}`);
  });

  test('the static pod probes the admin port of examples/ssh-egress-kubernetes.yaml, the config it runs', async () => {
    const config = await loadConfig(`${EXAMPLES}ssh-egress-kubernetes.yaml`);
    const daemon = (byKind('Pod') as unknown as IPod).spec?.containers[0]; // validated above
    assert.deepEqual(daemon?.readinessProbe?.httpGet, { host: config.listeners.admin?.host, port: config.listeners.admin?.port, path: '/readyz' });
    assert.deepEqual(daemon?.args?.slice(0, 2), ['daemon', '--config']);
  });
});
