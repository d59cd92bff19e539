/** Where the daemons' agent listeners are: "host:port" as given, and the addresses a name resolves to. */
import { lookup } from 'node:dns/promises';
import { parseIp } from '../net/address.js';
import { parseListenAddress, type HostPort } from '../net/listen-address.js';
import { isPort } from '../net/port.js';

export const SERVER_EXAMPLE = 'host:port (such as "cp.example:8022", "10.0.0.5:8022" or "[fd00::5]:8022")';

/** A server as given; `host` is an address or a name. */
export interface ServerAddress extends HostPort {
  /** "cp.example:8022" / "[fd00::5]:8022", for logs and known_hosts lookups. */
  text: string;
}

/** "host:port" with a real port (0 means nothing to a client); undefined when it is not one. */
export function parseServerAddress(text: string): ServerAddress | undefined {
  const parsed = parseListenAddress(text);
  if (!parsed || !isPort(parsed.port)) return undefined;
  const host = parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host;
  return { ...parsed, text: `${host}:${parsed.port}` };
}

/**
 * Every address the server's host stands for: itself when it is an address, else all that the system's
 * resolver gives (as OpenSSH and every other program on the node would see them), in its order.
 */
export async function resolveServer(server: ServerAddress): Promise<string[]> {
  if (parseIp(server.host)) return [server.host];
  const found = await lookup(server.host, { all: true, verbatim: true });
  return [...new Set(found.map((entry) => entry.address))];
}
