// Kubernetes: the live node inventory, service CIDR discovery, and client-node through the tunnels.
export type { KubernetesInventorySettings } from './kube-settings.js';
export { loadKubeConfig, apiServerOf, type KubeConfigSource } from './kube-config.js';
export { KubeInventory, type KubeInventoryOptions, type KubeInventoryStatus } from './kube-inventory.js';
export { listKubeNodes, type ListKubeNodesOptions } from './list-nodes.js';
export { ServiceCidrDiscovery, serviceCidrsOf, type ServiceCidrDiscoveryOptions } from './service-cidrs.js';
export { KubernetesClusterWatch, type ClusterWatchHandlers, type ClusterWatchOptions } from './cluster-watch.js';
export type { KubeConfigShape } from './kube-config-shape.js';
export type { ReflectorOptions, ReflectorStatus } from './reflector.js';
export type { ListWatch, ListFrom, ListResult, WatchHandlers, WatchHandle } from './list-watch.js';
export { isNodeReady } from './node-mapping.js';
export { withEgress, type EgressCapableKubeConfig, type EgressOptions } from './client-node.js';
