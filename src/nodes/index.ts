export type { NodeSpec } from './node-spec.js';
export { DEFAULT_KUBELET_PORT, DEFAULT_SSH_PORT, sameConnection } from './node-spec.js';
export { loadInventory, parseInventory, type InventoryOptions } from './load-inventory.js';
export {
  DEFAULT_ADDRESS_TYPES,
  nodeFromK8sNode,
  nodesFromNodeList,
  withoutDuplicates,
  type K8sNodeOptions,
  type NodeListOptions,
} from './node-list.js';
export { TUNNEL_MODES, DEFAULT_TUNNEL_MODE, type TunnelMode, type TunnelDirection } from './tunnel-mode.js';
