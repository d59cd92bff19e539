export type { EgressConfig, HealthCheckSettings, InventorySource, ListenerSettings, LogLevel, LogSettings, SshSettings } from './config-types.js';
export { loadConfig, parseConfig } from './load-config.js';
export { applyFlags, configFromFlags, COMMAND_LINE, DEFAULT_USER, type ConfigFlags } from './config-flags.js';
export { assertDaemonListeners } from './config-rules.js';
export { CONFIG_DEFAULTS } from './config-from-file.js';
export { unverifiedKubeletWarning } from './kubelet-verification.js';
