import { EgressRuntime } from '../runtime/index.js';
import { commandLogger, configFromCommandLine } from './connection-options.js';
import type { DialFlags } from './dial-flags.js';
import { pipeStdio } from './pipe-stdio.js';

/** `dial` with tunnels of its own: connects only the node the target needs, pipes stdio, closes. */
export async function dialOwnTunnel(target: string, flags: DialFlags): Promise<void> {
  let runtime: EgressRuntime | undefined;
  try {
    const config = await configFromCommandLine(flags);
    const logger = await commandLogger(config);
    // One short-lived stream: connect only the node it needs, and let keepalive alone watch it.
    runtime = await EgressRuntime.create(config, { logger, poolOverrides: { lazyConnect: true, healthCheck: { kind: 'ssh' } } });
    await runtime.apply(config);
    const socket = await runtime.dialer.dial(target, {
      ...(flags.timeout !== undefined && { timeoutMs: flags.timeout }),
      allowHalfOpen: true,
      ...(flags.via && { via: flags.via }),
    });
    await pipeStdio(socket);
  } finally {
    await runtime?.close();
  }
}
