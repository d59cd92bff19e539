export { startSimulatedCluster } from './cluster.js';
export type { ServedStream, SimulatedCluster, SimulatedClusterOptions } from './cluster.js';
export type { FakeNode } from './fake-node.js';
export { APP_PORT, ECHO_PORT, NODE_HTTP_PORT } from './routes.js';
