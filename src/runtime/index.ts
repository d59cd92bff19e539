// From a config to running tunnels: the setup the daemon and the CLI commands share.
export { EgressRuntime, type EgressRuntimeOptions } from './egress-runtime.js';
export { loadNodes, kubernetesSettingsOf } from './load-nodes.js';
export { toDialerOptions, toPoolOptions } from './options-from-config.js';
