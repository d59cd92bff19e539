// A pre-authentication flood: many raw TCP connections that send an SSH version line and then nothing,
// as a scanner or a slowloris would, from several source addresses.
import net from 'node:net';

export interface FloodOutcome {
  /** The server answered with its own version line: it took the connection in for a handshake. */
  greeted: number;
  /** Closed before any answer: dropped at admission. */
  dropped: number;
}

export interface Flood {
  /** Resolves once every connection was either answered or dropped. */
  settled: Promise<FloodOutcome>;
  close(): void;
}

/** Opens `perSource` connections from each source address, all at once, in order of the sources. */
export function preAuthFlood(host: string, port: number, sources: readonly string[], perSource: number): Flood {
  const sockets: net.Socket[] = [];
  const outcome: FloodOutcome = { greeted: 0, dropped: 0 };
  const total = sources.length * perSource;
  const settled = new Promise<FloodOutcome>((resolve) => {
    const settle = (kind: keyof FloodOutcome): void => {
      outcome[kind] += 1;
      if (outcome.greeted + outcome.dropped === total) resolve({ ...outcome });
    };
    for (const localAddress of sources) {
      for (let i = 0; i < perSource; i++) {
        const socket = net.connect({ host, port, localAddress });
        let answered = false;
        socket.on('error', () => undefined); // a drop may come as a reset
        socket.once('connect', () => socket.write('SSH-2.0-flood\r\n'));
        socket.once('data', () => {
          answered = true;
          settle('greeted');
        });
        socket.once('close', () => {
          if (!answered) settle('dropped');
        });
        sockets.push(socket);
      }
    }
  });
  return { settled, close: () => sockets.forEach((s) => s.destroy()) };
}
