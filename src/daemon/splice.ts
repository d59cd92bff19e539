import type { Duplex } from 'node:stream';

/**
 * Joins a proxy client's connection to its tunnel stream both ways. Half-close passes through (one side's
 * end ends the other's writing only); an error or abrupt close on either side tears both down, so neither
 * hangs waiting for the other. Resolves once both are closed.
 */
export function splice(client: Duplex, tunnel: Duplex): Promise<void> {
  client.pipe(tunnel);
  tunnel.pipe(client);
  const onError = (): void => {
    client.destroy();
    tunnel.destroy();
  };
  client.on('error', onError);
  tunnel.on('error', onError);
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
    if (!tunnel.readableEnded || !tunnel.writableFinished) client.destroy();
  });
  return Promise.all([closed(client), closed(tunnel)]).then(() => undefined);
}
