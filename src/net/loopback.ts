/**
 * What may listen without authentication: "localhost" (any case), 127.0.0.0/8 and ::1, written plain,
 * bracketed ("[::1]") or IPv4-mapped ("::ffff:127.0.0.1"). Every other name is refused, since DNS could
 * say anything; so are short forms such as "127.1".
 */
import { parseIp, stripBrackets } from './address.js';

export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  return parseIp(stripBrackets(host))?.range() === 'loopback';
}
