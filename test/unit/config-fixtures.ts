// A complete, valid config document for the config tests, and a way to change one field of it.
import YAML from 'yaml';

export type Doc = Record<string, unknown>;

export function validDoc(): Doc {
  return {
    ssh: { user: 'egress', identityFile: 'keys/id_ed25519', knownHostsFile: '/etc/ssh/known_hosts', passphraseEnv: 'KEY_PASS', keepaliveIntervalMs: 0 },
    healthCheck: { kind: 'kubelet-https', path: '/healthz', intervalMs: 1000, timeoutMs: 500, failureThreshold: 2, caFile: 'pki/ca.crt' },
    inventory: {
      nodes: [
        { name: 'n1', address: '198.18.0.1', podCIDRs: ['198.19.1.0/24'] },
        { name: 'n2', address: '198.18.0.2', sshPort: 2222 },
      ],
    },
    cluster: { serviceCIDRs: ['198.19.240.0/20'] },
    policy: { allow: ['192.0.2.0/24:443'], nodePorts: [10250, 9100, '30000-32767'] },
    dial: { timeoutMs: 5000 },
    listeners: {
      connect: {
        socket: { path: 'egress.sock', mode: '0660' },
        tls: { listen: '127.0.0.1:8131', certFile: 'tls/server.crt', keyFile: 'tls/server.key', clientCAFile: 'tls/ca.crt' },
      },
      socks: { listen: '[::1]:1080', users: [{ username: 'kubectl', passwordFile: 'socks.pass' }] },
      admin: { listen: '127.0.0.1:0' },
    },
    readiness: { readyFraction: 1 },
    drain: { graceMs: 1000 },
    log: { level: 'debug', format: 'text' },
  };
}

/** A copy of `doc` with the value at `path` replaced (or removed, for undefined). */
export function withValue(doc: Doc, path: readonly (string | number)[], value: unknown): Doc {
  const copy = structuredClone(doc);
  let at: Record<string | number, unknown> = copy;
  path.slice(0, -1).forEach((key, i) => {
    at[key] ??= typeof path[i + 1] === 'number' ? [] : {};
    at = at[key] as Record<string | number, unknown>;
  });
  const last = path.at(-1)!;
  if (value === undefined) delete at[last];
  else at[last] = value;
  return copy;
}

export const yaml = (doc: Doc): string => YAML.stringify(doc);
