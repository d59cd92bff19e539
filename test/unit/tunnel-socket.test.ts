// TunnelSocket over a channel whose write gate is held, as the SendPacer holds it while sshd has not
// acknowledged enough: when the node closes the channel meanwhile, the waiting write fails cleanly (EPIPE)
// and the socket closes, instead of failing as "write after end". Also: what a destroy or an end sends the node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Duplex, PassThrough } from 'node:stream';
import { TunnelSocket } from '../../src/tunnel/tunnel-socket.js';

test('a write waiting for the connection fails with EPIPE when the node closes the channel first', async () => {
  const stream = new PassThrough();
  const held: Array<() => void> = [];
  // Ssh2Session's listener comes first (it is registered when the channel opens): it lets the waiters go.
  stream.once('close', () => held.splice(0).forEach((proceed) => proceed()));
  const socket = new TunnelSocket(
    { stream, whenWritable: (proceed) => held.push(proceed) },
    { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 },
  );
  const errors: Error[] = [];
  socket.on('error', (err) => errors.push(err));
  const written = new Promise<Error | null | undefined>((resolve) => socket.write(Buffer.alloc(64 * 1024), resolve));
  assert.equal(held.length, 1, 'the write waits at the gate');
  // What ssh2 does on CHANNEL_CLOSE: end both sides, then 'close'.
  stream.end();
  stream.resume();
  stream.destroy();
  const err = await written;
  assert.equal((err as NodeJS.ErrnoException | undefined)?.code, 'EPIPE');
  await new Promise((resolve) => (socket.closed ? resolve(undefined) : socket.once('close', resolve)));
  assert.equal(socket.bytesWritten, 0, 'nothing counted as sent');
  assert.deepEqual(errors.map((e) => (e as NodeJS.ErrnoException).code), ['EPIPE']);
});

test('a large write passes the gate in 64 KiB slices and arrives whole, in order', async () => {
  const slices: Buffer[] = [];
  // A channel that keeps what is written to it (each slice the gate let through) and sends nothing back.
  const stream = new Duplex({ read() {}, write: (chunk: Buffer, _encoding, done) => (slices.push(chunk), done()) });
  let gatePasses = 0;
  const socket = new TunnelSocket(
    { stream, whenWritable: (proceed) => setImmediate(() => (gatePasses++, proceed())) },
    { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 },
  );
  const payload = Buffer.from(Array.from({ length: 1024 * 1024 + 5 }, (_, i) => i % 251));
  await new Promise<void>((resolve, reject) => socket.write(payload, (err) => (err ? reject(err) : resolve())));
  assert.equal(gatePasses, 17, 'sixteen 64 KiB slices and the last 5 bytes, each through the gate');
  assert.deepEqual([...new Set(slices.slice(0, -1).map((s) => s.length))], [64 * 1024]);
  assert.ok(Buffer.concat(slices).equals(payload), 'whole and in order');
  assert.equal(socket.bytesWritten, payload.length);
  socket.destroy();
});

test('with room at the gate a write goes in larger slices, up to 256 KiB, never more than the room past 64 KiB', async () => {
  const slices: number[] = [];
  const stream = new Duplex({ read() {}, write: (chunk: Buffer, _encoding, done) => (slices.push(chunk.length), done()) });
  // The room the gate reports, one per pass: plenty, some, less than the smallest slice, unknown.
  const rooms = [4 * 1024 * 1024, 100 * 1024, 1024, undefined];
  const socket = new TunnelSocket(
    { stream, whenWritable: (proceed) => setImmediate(() => proceed(rooms.shift())) },
    { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 },
  );
  const payload = Buffer.alloc(1024 * 1024, 7);
  await new Promise<void>((resolve, reject) => socket.write(payload, (err) => (err ? reject(err) : resolve())));
  assert.deepEqual(slices.slice(0, 4), [256 * 1024, 100 * 1024, 64 * 1024, 64 * 1024]);
  assert.equal(slices.reduce((a, b) => a + b, 0), payload.length);
  socket.destroy();
});

test('destroying the socket sends the node CHANNEL_CLOSE alone, no EOF before it (one packet, one write)', () => {
  // ssh2's own Channel over a protocol that records what would go to the node.
  const sent: string[] = [];
  const protocol = { channelEOF: () => sent.push('EOF'), channelClose: () => sent.push('CLOSE') };
  const { Channel } = createRequire(import.meta.url)('ssh2/lib/Channel.js') as { Channel: new (client: unknown, info: unknown) => Duplex };
  const open = { id: 1, window: 2 * 1024 * 1024, packetSize: 32 * 1024, state: 'open' };
  const stream = new Channel({ _protocol: protocol }, { type: 'direct-tcpip', incoming: { ...open }, outgoing: { ...open } });
  const socket = new TunnelSocket({ stream, whenWritable: (proceed) => proceed() }, { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 });
  socket.destroy();
  assert.deepEqual(sent, ['CLOSE']);

  // Ending first is a half-close the node must see: EOF, and the close once destroyed.
  sent.length = 0;
  const ending = new Channel({ _protocol: protocol }, { type: 'direct-tcpip', incoming: { ...open }, outgoing: { ...open } });
  const graceful = new TunnelSocket({ stream: ending, whenWritable: (proceed) => proceed() }, { node: 'n1', remoteAddress: '198.19.1.7', remotePort: 8080 });
  graceful.end();
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      graceful.destroy();
      assert.deepEqual(sent, ['EOF', 'CLOSE']);
      resolve();
    }),
  );
});
