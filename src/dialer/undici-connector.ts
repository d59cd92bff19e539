import type tls from 'node:tls';
import type net from 'node:net';
import type { DialFunction } from './dial-function.js';
import { stripBrackets } from '../net/address.js';
import { upgradeToTls } from '../tls/tls-upgrade.js';

/** What undici passes its `connect` function (see undici lib/core/connect.js). */
export interface UndiciConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
}

/**
 * undici's connector type. undici declares net.Socket; a TunnelSocket (or the TLS socket over it) offers the
 * part of that interface undici uses, so it is handed over as one.
 */
export type UndiciConnector = (
  options: UndiciConnectOptions,
  callback: (...result: [null, net.Socket] | [Error, null]) => void,
) => void;

/** undici's Agent/Client take this as `connect`: each connection is a tunnel stream, TLS inside it for https. */
export function createUndiciConnector(dial: DialFunction, tlsOptions: tls.ConnectionOptions): UndiciConnector {
  return (options, callback) => {
    const https = options.protocol === 'https:';
    const host = stripBrackets(options.hostname);
    const port = Number(options.port) || (https ? 443 : 80);
    dial({ kind: 'address', host, port }).then(
      (socket) => {
        if (!https) {
          callback(null, socket as unknown as net.Socket);
          return;
        }
        const secure = upgradeToTls(socket, host, {
          ...tlsOptions,
          servername: options.servername ?? tlsOptions.servername,
          ALPNProtocols: ['http/1.1'],
        });
        secure.once('secureConnect', () => {
          secure.removeListener('error', onError);
          callback(null, secure);
        });
        const onError = (err: Error): void => {
          socket.destroy();
          callback(err, null);
        };
        secure.once('error', onError);
      },
      (err: Error) => callback(err, null),
    );
  };
}
