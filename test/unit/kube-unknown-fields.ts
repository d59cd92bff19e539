// Fields of a Kubernetes object that its API type does not have, found with @kubernetes/client-node's generated
// models (each class lists its attributes and their types). The schemas kubernetes-models validates against
// allow unknown fields, as the API server does by default; `kubectl apply --validate=strict` refuses them, and a
// misspelt field in a manifest is otherwise silently dropped.
import * as k8s from '@kubernetes/client-node';
import { isRecord } from '../../src/util/is-record.js';

interface Attribute {
  baseName: string;
  type: string;
}
type ModelClass = { getAttributeTypeMap(): Attribute[] };
const models = k8s as unknown as Record<string, ModelClass | undefined>;

/** client-node's type name for an object: "apps/v1" + "DaemonSet" -> "V1DaemonSet". */
export function modelTypeName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').at(-1)!;
  return `${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
}

export function hasModel(type: string): boolean {
  return models[type] !== undefined;
}

/** JSON paths (".spec.template.spec.containers[0].volumMounts") of fields `type` does not define. */
export function unknownFields(value: unknown, type: string, at = ''): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  if (array) return Array.isArray(value) ? value.flatMap((item, i) => unknownFields(item, array[1]!, `${at}[${i}]`)) : [];
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) return isRecord(value) ? Object.entries(value).flatMap(([k, v]) => unknownFields(v, map[1]!, `${at}.${k}`)) : [];
  const model = models[type];
  if (!model || !isRecord(value)) return []; // a scalar, IntOrString, any
  const attributes = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  return Object.entries(value).flatMap(([key, v]) => {
    const fieldType = attributes.get(key);
    return fieldType === undefined ? [`${at}.${key}`] : unknownFields(v, fieldType, `${at}.${key}`);
  });
}
