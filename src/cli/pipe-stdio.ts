import type { Duplex } from 'node:stream';

/** Copies both ways with half-close: our stdin's end ends the sending side only; the far end's ends stdout. */
export function pipeStdio(socket: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    process.stdin.pipe(socket);
    socket.pipe(process.stdout);
    socket.on('end', () => {
      process.stdin.unpipe(socket);
      process.stdin.destroy();
    });
    socket.on('close', () => resolve());
  });
}
