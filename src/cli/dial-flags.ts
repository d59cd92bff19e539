import type { ConnectionFlags } from './connection-options.js';

export interface DialFlags extends ConnectionFlags {
  /** The daemon's HTTP CONNECT Unix socket: dial through it instead of opening tunnels. */
  connectSocket?: string;
  /** The daemon's plain HTTP CONNECT listener (loopback only). */
  connect?: string;
  via?: string;
  /** Absent: the config's dial.timeoutMs (10000 by default), or 30000 for a daemon's answer. */
  timeout?: number;
}
