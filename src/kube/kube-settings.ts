/**
 * What `inventory.kubernetes` in the config (and `--kubeconfig` / `--context`) says: where the API is, which
 * nodes to take and how to reach their sshd. Plain data, so reload can compare old and new settings.
 */
export interface KubernetesInventorySettings {
  /** A kubeconfig file. Neither this nor inCluster: $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  /** A context of the kubeconfig other than its current-context. */
  context?: string;
  /** Use the pod's service account (KUBERNETES_SERVICE_HOST and /var/run/secrets/kubernetes.io/serviceaccount). */
  inCluster?: boolean;
  /** Only nodes whose labels match, e.g. "node-role.kubernetes.io/worker,zone in (a,b)"; the API server filters. */
  labelSelector?: string;
  /** Leave out nodes whose Ready condition is not True; their tunnels drain until they are Ready again. */
  readyOnly?: boolean;
  /** status.addresses types to dial sshd at, most preferred first; default InternalIP, ExternalIP, Hostname. */
  addressTypes?: string[];
  /** sshd port on every node (a Node object has no field for it); default 22. */
  sshPort?: number;
  /** Read ServiceCIDR objects (networking.k8s.io/v1, Kubernetes 1.33+) and add their ranges; default true. */
  discoverServiceCIDRs?: boolean;
}
