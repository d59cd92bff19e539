import ssh2 from 'ssh2';

/**
 * An OpenSSH public key line ("type base64 [comment]") as a node's `agentKeys` lists it; undefined for a
 * line that is not one: a private key, a certificate (certificates are trusted through a CA instead) or
 * anything ssh2 cannot read.
 */
export function parseAgentKey(line: string): ssh2.ParsedKey | undefined {
  try {
    const parsed = ssh2.utils.parseKey(line.trim());
    if (parsed instanceof Error || parsed.isPrivateKey() || parsed.type.includes('-cert-')) return undefined;
    return parsed;
  } catch {
    return undefined;
  }
}
