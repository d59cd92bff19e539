/** DNS names: the one label grammar (RFC 1123: letters, digits and inner hyphens), for host names and Kubernetes names. */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;
const MAX_NAME = 253;
const MAX_LABEL = 63;

/**
 * A host name to connect to ("node-1.example.com", "Node-1", "node-1." with the root's dot). An
 * all-numeric last label is refused, so a mistyped or shortened IP ("10.0.0.256", "10.1") is not taken
 * for a name.
 */
export function isHostName(text: string): boolean {
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  const labels = name.split('.');
  return (
    name.length <= MAX_NAME &&
    labels.every((l) => l.length <= MAX_LABEL && LABEL.test(l)) &&
    !/^\d+$/.test(labels.at(-1) ?? '')
  );
}

/** Canonical text of a host name: lower-case, without the root's trailing dot. */
export function normalizeHostName(text: string): string {
  return text.toLowerCase().replace(/\.$/, '');
}

/**
 * Kubernetes' DNS-1123 subdomain (the grammar of object names such as a Node's): lower-case labels, at
 * most 253 characters in all. Unlike a host name, it may look like an IP ("10.0.0.1" names some nodes).
 */
export function isDns1123Subdomain(text: string): boolean {
  return text.length <= MAX_NAME && text === text.toLowerCase() && text.split('.').every((l) => LABEL.test(l));
}
