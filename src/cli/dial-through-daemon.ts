import { ConfigError } from '../errors.js';
import { isLoopbackHost } from '../net/loopback.js';
import { LISTEN_EXAMPLE, parseListenAddress } from '../net/listen-address.js';
import { connectThroughDaemon, type DaemonAddress } from './daemon-connect.js';
import type { DialFlags } from './dial-flags.js';
import { pipeStdio } from './pipe-stdio.js';

/** The daemon routes, dials and applies its policy; it answers within its own dial timeout (10 s by default). */
const DAEMON_ANSWER_TIMEOUT_MS = 30_000;

/** `dial --connect-socket PATH` / `--connect HOST:PORT`: one CONNECT to the running daemon, then stdio piped. */
export async function dialThroughDaemon(target: string, flags: DialFlags): Promise<void> {
  if (flags.via !== undefined) throw new ConfigError('--via', 'is not available through a daemon: it picks the node itself');
  const socket = await connectThroughDaemon(daemonAddress(flags), target, flags.timeout ?? DAEMON_ANSWER_TIMEOUT_MS);
  await pipeStdio(socket);
}

function daemonAddress(flags: DialFlags): DaemonAddress {
  if (flags.connectSocket !== undefined) return { path: flags.connectSocket };
  const address = parseListenAddress(flags.connect);
  if (!address || address.port === 0) throw new ConfigError('--connect', `${JSON.stringify(flags.connect)} is not ${LISTEN_EXAMPLE}`);
  // The plain listener has no authentication and no encryption: it only exists on loopback.
  if (!isLoopbackHost(address.host)) throw new ConfigError('--connect', `${address.host} is not a loopback address: the plain CONNECT listener serves this host only`);
  return address;
}
