/**
 * @kubernetes/client-node is an optional peer dependency (tens of MB): only the Kubernetes inventory,
 * service CIDR discovery and their callers load it, on first use. Nothing here is in the public types, so
 * the library's declarations compile without it.
 */
import { importOptional } from '../util/import-optional.js';

export type ClientNode = typeof import('@kubernetes/client-node');

export const CLIENT_NODE = '@kubernetes/client-node';

/** The module, imported once; a missing package is a MissingPackageError (a failed import is tried again). */
export function loadClientNode(): Promise<ClientNode> {
  loading ??= importOptional(CLIENT_NODE, 'the Kubernetes inventory (--kubeconfig, inventory.kubernetes)', () => import('@kubernetes/client-node')).catch(
    (err: unknown) => {
      loading = undefined;
      throw err;
    },
  );
  return loading;
}

let loading: Promise<ClientNode> | undefined;
