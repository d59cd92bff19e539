import { randomBytes } from 'node:crypto';
import { chmod, lstat, rename, stat, unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** A Unix socket a server listens on; `close()` stops accepting and removes the file if it is still ours. */
export interface UnixSocketListener {
  readonly path: string;
  /** Closes the listener (open connections go on) and unlinks the socket file unless another process replaced it. */
  close(): Promise<void>;
}

export interface UnixSocketOptions {
  path: string;
  /** File mode of the socket, e.g. 0o600: who may connect. */
  mode: number;
  /** For error messages, e.g. "listeners.connect.socket.path". */
  field?: string;
}

// sun_path holds 108 bytes with the NUL; the temporary name below is 9 bytes longer than the final one.
const MAX_PATH_BYTES = 107 - 9;

/**
 * Listens on a Unix socket at `path` with `mode`. The socket is bound under a temporary name, given its mode,
 * then renamed into place: no client can connect while it still has the umask's looser mode, and a stale
 * socket is replaced atomically. A stale socket (one nobody listens on: connecting is refused) is replaced;
 * a live one, or a file that is not a socket, makes this reject with a ConfigError naming the path.
 */
export async function listenUnixSocket(server: net.Server, options: UnixSocketOptions): Promise<UnixSocketListener> {
  const field = options.field ?? 'socket.path';
  const target = path.resolve(options.path);
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) {
    throw new ConfigError(field, `${target} is too long for a Unix socket (at most ${MAX_PATH_BYTES} bytes)`);
  }
  await refuseUnlessStale(target, field);
  const temporary = `${target}.${randomBytes(4).toString('hex')}`;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ConfigError(field, `cannot listen on ${target}: ${err.code ?? err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(temporary, () => {
      server.off('error', onError);
      resolve();
    });
  });
  let identity: { dev: number; ino: number };
  try {
    await chmod(temporary, options.mode);
    await rename(temporary, target);
    identity = await stat(target);
  } catch (err) {
    server.close();
    await unlink(temporary).catch(() => undefined);
    throw new ConfigError(field, `cannot set up ${target}: ${(err as Error).message}`, { cause: err });
  }
  return {
    path: target,
    async close() {
      // Unlink first, so no new client finds a socket that no longer accepts.
      const now = await stat(target).catch(() => undefined);
      if (now && now.dev === identity.dev && now.ino === identity.ino) await unlink(target).catch(() => undefined);
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        // server.close()'s callback waits for every connection to end; the listener itself closes at once.
        server.close();
        setImmediate(resolve);
      });
    },
  };
}

async function refuseUnlessStale(target: string, field: string): Promise<void> {
  const info = await lstat(target).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new ConfigError(field, `cannot inspect ${target}: ${err.code ?? err.message}`, { cause: err });
  });
  if (info === undefined) return;
  if (!info.isSocket()) throw new ConfigError(field, `${target} exists and is not a socket; refusing to replace it`);
  const probeError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const probe = net.connect(target);
    probe.once('connect', () => {
      probe.destroy();
      resolve(undefined);
    });
    probe.once('error', resolve);
  });
  if (probeError === undefined) throw new ConfigError(field, `${target} is in use: another process listens on it`);
  // ECONNREFUSED: a socket file nobody listens on, left by a crash. ENOENT: it vanished meanwhile.
  // Anything else (EACCES...) says nothing about staleness: leave the file alone.
  if (probeError.code !== 'ECONNREFUSED' && probeError.code !== 'ENOENT') {
    throw new ConfigError(field, `cannot tell whether ${target} is in use (${probeError.code ?? probeError.message}); refusing to replace it`);
  }
}
