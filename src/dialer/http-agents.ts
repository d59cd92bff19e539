import http from 'node:http';
import https from 'node:https';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { DialFunction } from './dial-function.js';
import { stripBrackets } from '../net/address.js';
import { upgradeToTls } from '../tls/tls-upgrade.js';

type ConnectCallback = (err: Error | null, socket?: Duplex) => void;

interface ConnectionRequest {
  host?: string | null;
  hostname?: string | null;
  port?: number | string | null;
  timeout?: number;
}

function destinationOf(options: ConnectionRequest, defaultPort: number): { host: string; port: number } {
  const host = stripBrackets(String(options.hostname ?? options.host ?? 'localhost'));
  return { host, port: Number(options.port ?? defaultPort) };
}

/** http.Agent whose sockets are tunnel streams. Node's Agent accepts a connection handed to a callback. */
export class TunnelHttpAgent extends http.Agent {
  constructor(
    private readonly dial: DialFunction,
    options: http.AgentOptions,
  ) {
    super({ keepAlive: true, ...options });
  }

  override createConnection(options: ConnectionRequest, callback: ConnectCallback): undefined {
    const { host, port } = destinationOf(options, 80);
    this.dial({ kind: 'address', host, port }).then(
      (socket) => callback(null, socket),
      (err: Error) => callback(err),
    );
    return undefined;
  }
}

/** https.Agent over tunnel streams: TLS starts inside the stream, verified with the agent's options. */
export class TunnelHttpsAgent extends https.Agent {
  constructor(
    private readonly dial: DialFunction,
    private readonly tlsOptions: https.AgentOptions,
  ) {
    super({ keepAlive: true, ...tlsOptions });
  }

  override createConnection(options: ConnectionRequest & https.RequestOptions, callback: ConnectCallback): undefined {
    const { host, port } = destinationOf(options, 443);
    this.dial({ kind: 'address', host, port }).then(
      (socket) => {
        const secure = upgradeToTls(socket, host, { ...tlsOnly(this.tlsOptions), ...tlsOnly(options) });
        secure.once('error', (err) => socket.destroy(err));
        callback(null, secure);
      },
      (err: Error) => callback(err),
    );
    return undefined;
  }
}

/** The TLS settings among agent or request options (Node merges both before createConnection). */
function tlsOnly(options: https.RequestOptions | https.AgentOptions): tls.ConnectionOptions {
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername, checkServerIdentity, minVersion } = options;
  const picked: tls.ConnectionOptions = { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername, checkServerIdentity, minVersion };
  for (const k of Object.keys(picked) as (keyof tls.ConnectionOptions)[]) if (picked[k] === undefined) delete picked[k];
  return picked;
}
