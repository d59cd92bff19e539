/** Connectivity states of one tunnel (after grpc-js's subchannel). An ssh2 client is held iff READY. */
export const TunnelState = {
  IDLE: 'IDLE',
  CONNECTING: 'CONNECTING',
  READY: 'READY',
  TRANSIENT_FAILURE: 'TRANSIENT_FAILURE',
  SHUTDOWN: 'SHUTDOWN',
} as const;
export type TunnelState = (typeof TunnelState)[keyof typeof TunnelState];

/** Every move a tunnel may make; anything else is a bug and is refused. */
const ALLOWED: Readonly<Record<TunnelState, readonly TunnelState[]>> = {
  IDLE: ['CONNECTING', 'SHUTDOWN'],
  CONNECTING: ['READY', 'TRANSIENT_FAILURE', 'SHUTDOWN'],
  READY: ['TRANSIENT_FAILURE', 'SHUTDOWN'],
  TRANSIENT_FAILURE: ['CONNECTING', 'SHUTDOWN'],
  SHUTDOWN: [],
};

export function isAllowedTransition(from: TunnelState, to: TunnelState): boolean {
  return ALLOWED[from].includes(to);
}
