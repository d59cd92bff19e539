import type { TunnelPool } from '../../src/tunnel/pool.js';
import type { StateChange } from '../../src/tunnel/tunnel.js';

/** Resolves with the next change of `node`'s tunnel to state `to`. */
export function nextState(pool: TunnelPool, node: string, to: string): Promise<StateChange> {
  return new Promise((resolve) => {
    const listener = (change: StateChange): void => {
      if (change.node === node && change.to === to) {
        pool.off('stateChange', listener);
        resolve(change);
      }
    };
    pool.on('stateChange', listener);
  });
}
