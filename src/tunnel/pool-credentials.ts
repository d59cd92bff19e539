import type { Logger } from '../log.js';
import { KnownHosts } from './known-hosts.js';
import type { HostKeyPolicy } from './host-key-verifier.js';
import { loadPrivateKey } from './private-key.js';
import type { ResolvedPoolOptions } from './pool-options.js';
import type { SshCredentials } from './ssh2-connector.js';

/**
 * Shares one load among all tunnels. A failed load is not kept, so the next attempt (a retry after the
 * operator fixed the file, or an explicit reconnect) reads the file again.
 */
function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

export function loadCredentials(o: ResolvedPoolOptions): () => Promise<SshCredentials> {
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

export function loadHostKeyPolicy(o: ResolvedPoolOptions, log: Logger): () => Promise<HostKeyPolicy> {
  return loadOnce(async () => {
    if (o.insecureIgnoreHostKeys) {
      log.warn('HOST KEY VERIFICATION IS OFF (insecureIgnoreHostKeys): anyone on the network path can impersonate a node');
      return { insecureIgnoreHostKeys: true };
    }
    if (!o.knownHostsFile) return {};
    const knownHosts = await KnownHosts.load(o.knownHostsFile);
    for (const warning of knownHosts.warnings) log.warn('known_hosts line skipped', { warning });
    return { knownHosts };
  });
}
