import type { Logger } from '../log.js';
import { KnownHosts } from '../hostkeys/known-hosts.js';
import { TrustOnFirstUseFile } from '../hostkeys/trust-on-first-use.js';
import type { HostKeyPolicy } from '../hostkeys/host-key-verifier.js';
import { loadPrivateKey } from '../hostkeys/private-key.js';
import type { ResolvedPoolOptions } from './pool-options.js';
import type { SshCredentials } from '../ssh/ssh2-connector.js';

/** A load shared by all tunnels; reset() makes the next call read the files again. */
export interface SharedLoad<T> {
  (): Promise<T>;
  reset(): void;
  /** Reads the files again now; a failed read rejects and keeps what was loaded before (no wipe). */
  reload(): Promise<T>;
}

/**
 * Shares one load among all tunnels. A failed load is not kept, so the next attempt (a retry after the
 * operator fixed the file) reads the file again; a successful one is kept until reset().
 */
function loadOnce<T>(load: () => Promise<T>): SharedLoad<T> {
  let pending: Promise<T> | undefined;
  const shared = (): Promise<T> => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
  const reload = async (): Promise<T> => {
    const fresh = await load();
    pending = Promise.resolve(fresh);
    return fresh;
  };
  return Object.assign(shared, { reset: () => (pending = undefined), reload });
}

export function loadCredentials(o: ResolvedPoolOptions): SharedLoad<SshCredentials> {
  return loadOnce(async () => {
    const agentSocket = o.agentSocket ?? (o.identityFile ? undefined : process.env.SSH_AUTH_SOCK);
    if (!o.identityFile) return { agentSocket };
    const { key, passphrase } = await loadPrivateKey({
      identityFile: o.identityFile,
      passphrase: o.passphrase,
      passphraseFile: o.passphraseFile,
      passphraseEnv: o.passphraseEnv,
    });
    return { privateKey: key, passphrase, agentSocket };
  });
}

/** Says once (not at every re-read of the trust, as each SIGHUP does) that trust on first use is on. */
export function loadHostKeyPolicy(o: ResolvedPoolOptions, log: Logger): SharedLoad<HostKeyPolicy> {
  if (o.trustOnFirstUseFile && !o.insecureIgnoreHostKeys) {
    log.info('trust on first use is on: a node with no trusted host key has the first key it presents recorded', {
      file: o.trustOnFirstUseFile,
    });
  }
  return loadOnce(async () => {
    if (o.insecureIgnoreHostKeys) {
      log.warn('HOST KEY VERIFICATION IS OFF (insecureIgnoreHostKeys): anyone on the network path can impersonate a node');
      return { insecureIgnoreHostKeys: true };
    }
    const policy: HostKeyPolicy = {};
    if (o.knownHostsFile) {
      policy.knownHosts = await KnownHosts.load(o.knownHostsFile);
      for (const warning of policy.knownHosts.warnings) log.warn('known_hosts line skipped', { warning });
    }
    if (o.trustOnFirstUseFile) {
      policy.trustOnFirstUse = TrustOnFirstUseFile.open(o.trustOnFirstUseFile, log);
    }
    return policy;
  });
}
