// Benchmark child processes run with tsx and talk over IPC: start one, and wait for one kind of message.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { track } from './proc.js';

/** Forks a TypeScript file of bench/lib (relative to this file) under tsx, tracked so it dies with the bench. */
export function forkTs(file: string, args: string[] = []): ChildProcess {
  const script = fileURLToPath(new URL(file, import.meta.url));
  return track(fork(script, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
}

/** The value of the child's first message carrying `key`; rejects on `{ error }`, its exit, or the timeout. */
export function reply<T>(child: ChildProcess, key: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => finish(new Error(`child exited (${code}) before ${key}`));
    const onMessage = (msg: Record<string, unknown>): void => {
      if (msg.error) finish(new Error(String(msg.error)));
      else if (key in msg) finish(undefined, msg[key] as T);
    };
    const timer = setTimeout(() => finish(new Error(`no ${key} from child within ${timeoutMs} ms`)), timeoutMs);
    function finish(err: Error | undefined, value?: T): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('message', onMessage);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.once('exit', onExit);
    child.on('message', onMessage);
  });
}
