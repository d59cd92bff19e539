// The least a Node HTTP CONNECT proxy can do: read the request line, dial, answer 200, pipe both ways. No
// limits, timeouts, logging, metrics or error handling; it only shows what the extra process hop costs by
// itself, so the daemon's front end can be compared with it.
import net from 'node:net';
import type { Dialer } from '../../src/dialer/dialer.js';

const OK = Buffer.from('HTTP/1.1 200 Connection established\r\n\r\n');

export async function startMinimalConnectProxy(dialer: Dialer): Promise<{ port: number; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    client.on('error', () => undefined);
    client.once('data', (head: Buffer) => {
      const target = head.toString('latin1', 'CONNECT '.length, head.indexOf(' ', 'CONNECT '.length));
      client.pause();
      dialer.dial(target, { allowHalfOpen: true }).then(
        (stream) => {
          stream.on('error', () => undefined);
          client.write(OK);
          client.pipe(stream);
          stream.pipe(client);
          client.on('close', () => stream.destroy());
        },
        () => client.destroy(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}
