import net from 'node:net';
import type { Duplex } from 'node:stream';

/** How long a client may keep sending after its tunnel closed before it is cut off. */
const DRAIN_LIMIT_MS = 5000;

/**
 * Joins a proxy client's connection to its tunnel stream both ways. Half-close passes through (one side's
 * end ends the other's writing only); an error or abrupt close on either side tears both down, so neither
 * hangs waiting for the other. Resolves once both are closed.
 */
export function splice(client: Duplex, tunnel: Duplex): Promise<void> {
  client.pipe(tunnel);
  tunnel.pipe(client);
  client.on('error', () => {
    client.destroy();
    tunnel.destroy();
  });
  tunnel.on('error', () => {
    cutOff(client);
    tunnel.destroy();
  });
  const closed = (stream: Duplex): Promise<void> =>
    new Promise((resolve) => {
      if (stream.destroyed) resolve();
      else stream.once('close', () => resolve());
    });
  // A side that closed without ending cleanly (reset, destroyed) takes the other with it.
  client.once('close', () => {
    if (!client.readableEnded || !client.writableFinished) tunnel.destroy();
  });
  tunnel.once('close', () => {
    if (!tunnel.readableEnded || !tunnel.writableFinished) cutOff(client);
    else if (!client.readableEnded) drainToEnd(client);
  });
  return Promise.all([closed(client), closed(tunnel)]).then(() => undefined);
}

/**
 * The tunnel failed (its SSH connection dropped, the node was removed): after a 200 there is no way to say
 * so but the connection itself. A TCP client gets a reset, so it sees an error, never a clean end that
 * could pass for a complete answer. A Unix-socket or TLS client can only be closed.
 *
 * The reset waits one turn of the event loop: libuv clients (Node.js 20) that find data and the reset in the
 * same wakeup report a clean end instead (libuv issue 2319); apart, the reset is seen as ECONNRESET.
 */
function cutOff(client: Duplex): void {
  if (client.destroyed) return;
  if (!(client instanceof net.Socket) || (client as { encrypted?: boolean }).encrypted || client.remoteAddress === undefined) {
    client.destroy();
    return;
  }
  client.pause();
  setImmediate(() => {
    if (client.destroyed) return;
    try {
      client.resetAndDestroy();
    } catch {
      client.destroy(); // not a TCP handle after all
    }
  });
}

/**
 * The tunnel closed cleanly while the client had not finished sending. When the tunnel's writing side
 * finished, pipe() unpiped and paused the client, so its end would never be read and the socket never
 * close. Read on (dropping what arrives: nothing can carry it now) until the client's end: closing a socket
 * with unread bytes makes the kernel reset it, which can destroy data the client has not read yet.
 */
function drainToEnd(client: Duplex): void {
  const limit = setTimeout(() => client.destroy(), DRAIN_LIMIT_MS);
  client.once('close', () => clearTimeout(limit));
  client.resume();
}
