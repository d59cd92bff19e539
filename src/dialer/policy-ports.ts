/** A port (443) or an inclusive port range ("8000-8100"), as policy options spell them. */
export type PortSpec = number | string;

/** A set of TCP ports built from port specs; keeps the specs' text for messages. */
export interface PortSet {
  has(port: number): boolean;
  /** "443, 8000-8100", in the order given. */
  readonly text: string;
}

interface PortRange {
  from: number;
  to: number;
}

const isPort = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= 65535;

/** Parses one spec; undefined when it is not a port or an ascending range of ports. */
export function parsePortSpec(spec: unknown): PortRange | undefined {
  if (typeof spec === 'number') return isPort(spec) ? { from: spec, to: spec } : undefined;
  if (typeof spec !== 'string') return undefined;
  // Digits only: Number() would also take "0x1bb", "1e3" or " 443".
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec);
  if (!m) return undefined;
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  return isPort(from) && isPort(to) && from <= to ? { from, to } : undefined;
}

/**
 * Builds a PortSet; `onInvalid(index, spec)` must throw for a spec that does not parse (callers name
 * the config field in their error).
 */
export function portSet(specs: readonly unknown[], onInvalid: (index: number, spec: unknown) => never): PortSet {
  const ranges = specs.map((spec, i) => parsePortSpec(spec) ?? onInvalid(i, spec));
  return {
    has: (port) => ranges.some((r) => port >= r.from && port <= r.to),
    text: ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', '),
  };
}
