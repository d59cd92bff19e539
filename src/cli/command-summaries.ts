/**
 * One line per command, for `ssh-egress --help` and each command's own description. Kept apart from the
 * commands so the top-level help lists them all without loading any.
 */
export const COMMAND_SUMMARIES = {
  agent: 'run on a node: dial every ssh-egress daemon and carry its streams from this node (reverse tunnels)',
  check: 'check that every node (or those named) is reachable: SSH, host key, authentication and the kubelet, each step timed',
  daemon: 'run the tunnels as a service: HTTP CONNECT (kube-apiserver egress), SOCKS5 and an admin server',
  dial: 'pipe stdin/stdout to TARGET through the right node\'s tunnel, or through a running daemon (usable as an OpenSSH ProxyCommand)',
  keygen: 'generate an SSH key pair for the tunnels and print its authorized_keys line and fingerprint',
  scan: 'fetch the nodes\' SSH host keys (like ssh-keyscan) and print them as known_hosts lines',
  status: 'show the running daemon\'s tunnels (its admin /status) as a table',
} as const;

export type CommandName = keyof typeof COMMAND_SUMMARIES;
