import { closeSync, constants, fchmodSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { dirname } from 'node:path';
import { KnownHostsError } from '../errors.js';
import type { Logger } from '../log.js';
import type { NodeSpec } from '../nodes/node-spec.js';
import { fingerprintOf } from './fingerprint.js';
import type { FirstUseTrustStore } from './host-key-verifier.js';
import { formatKnownHostsLine, KnownHosts } from './known-hosts.js';

/**
 * The trust-on-first-use file: an OpenSSH known_hosts file that gets a line when a node nothing trusts yet
 * presents its first key (like `ssh -o StrictHostKeyChecking=accept-new`). Everything is synchronous because
 * it runs inside ssh2's hostVerifier: the line is on disk (fsync) before the handshake goes on, and appends
 * from many first connects cannot interleave.
 */
export class TrustOnFirstUseFile implements FirstUseTrustStore {
  private cached: { stamp: string; knownHosts: KnownHosts } | undefined;

  private constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Creates the file (0600) if missing and reads it, so a bad path or unsafe mode fails before any connection. */
  static open(path: string, log: Logger): TrustOnFirstUseFile {
    const file = new TrustOnFirstUseFile(path, log);
    closeSync(file.openForAppend());
    file.knownHosts();
    return file;
  }

  /**
   * The keys recorded so far, re-read whenever the file changed: another process may have recorded a key
   * (so we never add a second, conflicting one), or an operator removed a line to accept a node's new key.
   */
  knownHosts(): KnownHosts {
    let stamp = 'missing';
    try {
      stamp = stampOf(statSync(this.path));
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw this.error('cannot be read', err);
    }
    if (this.cached?.stamp === stamp) return this.cached.knownHosts;
    return this.read();
  }

  /** Appends the node's key, durably; throws KnownHostsError when it cannot. */
  record(node: NodeSpec, keyBlob: Buffer): void {
    const line = formatKnownHostsLine([node.name, node.address], node.sshPort, keyBlob);
    const fd = this.openForAppend();
    try {
      const { size } = fstatSync(fd);
      // A hand-edited last line without its newline would otherwise swallow ours.
      const lead = size > 0 && !endsWithNewline(fd, size) ? '\n' : '';
      writeSync(fd, `${lead}${line}\n`);
      fsyncSync(fd);
    } catch (err) {
      throw this.error('cannot be written', err);
    } finally {
      closeSync(fd);
    }
    this.cached = undefined;
    const fingerprint = fingerprintOf(keyBlob);
    this.log.warn('trust on first use: recorded a new host key', { node: node.name, fingerprint, file: this.path });
  }

  private read(): KnownHosts {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw this.error('cannot be read', err);
      if (this.cached && this.cached.stamp !== 'missing') {
        this.log.warn('trust-on-first-use file is gone: nodes will be trusted anew on their next connection', { file: this.path });
      }
      this.cached = { stamp: 'missing', knownHosts: KnownHosts.parse('', this.path) };
      return this.cached.knownHosts;
    }
    try {
      const stats = fstatSync(fd);
      this.checkSafe(stats);
      const knownHosts = KnownHosts.parse(readFileSync(fd, 'utf8'), this.path);
      for (const warning of knownHosts.warnings) this.log.warn('trust-on-first-use line skipped', { warning });
      this.cached = { stamp: stampOf(stats), knownHosts };
      return knownHosts;
    } catch (err) {
      throw err instanceof KnownHostsError ? err : this.error('cannot be read', err);
    } finally {
      closeSync(fd);
    }
  }

  private openForAppend(): number {
    const append = constants.O_RDWR | constants.O_APPEND; // read too: endsWithNewline
    let fd: number;
    let created = true;
    try {
      fd = openSync(this.path, append | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if (errno(err) !== 'EEXIST') throw this.error('cannot be created', err);
      created = false;
      try {
        fd = openSync(this.path, append);
      } catch (err2) {
        throw this.error('cannot be opened for writing', err2);
      }
    }
    try {
      if (created) {
        fchmodSync(fd, 0o600); // exactly 0600 whatever the umask
        fsyncDirectory(dirname(this.path)); // so the new file itself survives a crash, not only its lines
        this.log.info('created trust-on-first-use file', { file: this.path });
      }
      this.checkSafe(fstatSync(fd));
      return fd;
    } catch (err) {
      closeSync(fd);
      throw err instanceof KnownHostsError ? err : this.error('cannot be prepared', err);
    }
  }

  /** Whoever can write this file decides which host keys we trust, so only we (or root) may. */
  private checkSafe(stats: Stats): void {
    if (!stats.isFile()) throw this.error('is not a regular file');
    if ((stats.mode & 0o022) !== 0) {
      const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
      throw this.error(`is writable by group or others (mode ${mode}), so they could plant host keys; chmod 600 it`);
    }
    const me = process.getuid?.();
    if (me !== undefined && stats.uid !== me && stats.uid !== 0) {
      throw this.error(`is owned by uid ${stats.uid}, not by us (uid ${me}) or root`);
    }
  }

  private error(why: string, cause?: unknown): KnownHostsError {
    const code = cause === undefined ? '' : ` (${errno(cause) ?? String(cause)})`;
    return new KnownHostsError(`trust-on-first-use file ${this.path} ${why}${code}`, cause);
  }
}

/** Changes whenever the file is replaced, written or chmod-ed. */
function stampOf(s: Stats): string {
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
}

function endsWithNewline(fd: number, size: number): boolean {
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] === 0x0a;
}

function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}
