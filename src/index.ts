// The public API of ssh-egress: re-exports only.
export * from './errors.js';
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './log.js';
export * from './nodes/index.js';
export { TunnelPool, type ReadyOptions } from './tunnel/pool.js';
export { POOL_DEFAULTS, type TunnelPoolOptions } from './tunnel/pool-options.js';
export { Tunnel, type TunnelStatus, type StateChange } from './tunnel/tunnel.js';
export { TunnelState } from './tunnel/state.js';
export { TunnelSocket } from './tunnel/tunnel-socket.js';
export { exponentialBackoff, DEFAULT_BACKOFF, type BackoffOptions, type RetryPolicy } from './tunnel/backoff.js';
export type { SshConnector, SshSession } from './tunnel/ssh-session.js';
export { KnownHosts } from './tunnel/known-hosts.js';
export { fingerprintOf } from './tunnel/fingerprint.js';
export { Dialer, type DialerOptions, type DialOptions, type Resolution } from './dialer/dialer.js';
export { parseTarget, type DialTarget, type KubeletTarget, type NodePortTarget, type AddressTarget } from './dialer/target.js';
export type { Route, RouteReason } from './dialer/router.js';
export type { UndiciConnector, UndiciConnectOptions } from './dialer/undici-connector.js';
