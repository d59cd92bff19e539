// Parent side of the peer process (bench/lib/peer-main.ts).
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { PeerPorts, PeerRequest } from './peer-main.js';
import { stop, track } from './proc.js';

type Request = PeerRequest extends infer R ? (R extends PeerRequest ? Omit<R, 'id'> : never) : never;

export interface Peer {
  ports: PeerPorts;
  /** The peer process's pid (its CPU is the servers' side of every transfer). */
  pid: number;
  call<T>(request: Request): Promise<T>;
  close(): Promise<void>;
}

export async function startPeer(): Promise<Peer> {
  const file = fileURLToPath(new URL('./peer-main.ts', import.meta.url));
  const child: ChildProcess = track(fork(file, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const ports = await new Promise<PeerPorts>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`peer process exited (${code})`)));
    child.on('message', (msg: { ready?: PeerPorts; id?: number; result?: unknown; error?: string }) => {
      if (msg.ready) return resolve(msg.ready);
      const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!waiter || msg.id === undefined) return;
      pending.delete(msg.id);
      if (msg.error !== undefined) waiter.reject(new Error(`peer: ${msg.error}`));
      else waiter.resolve(msg.result);
    });
  });
  return {
    ports,
    pid: child.pid as number,
    call<T>(request: Request): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ ...request, id });
      });
    },
    close: () => stop(child),
  };
}
