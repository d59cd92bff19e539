import tls from 'node:tls';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Starts TLS over a tunnel stream. The certificate is checked against `host` (an IP is matched against the
 * certificate's IP SANs); SNI is sent only for names, as RFC 6066 requires.
 */
export function upgradeToTls(socket: Duplex, host: string, options: tls.ConnectionOptions): tls.TLSSocket {
  return tls.connect({
    ...options,
    socket,
    host,
    servername: options.servername ?? (isIP(host) ? undefined : host),
  });
}
