import { parsePortRange } from '../net/port-range.js';

/** A port (443) or an inclusive port range ("8000-8100"), as policy options spell them. */
export type PortSpec = number | string;

/** A set of TCP ports built from port specs; keeps the specs' text for messages. */
export interface PortSet {
  has(port: number): boolean;
  /** "443, 8000-8100", in the order given. */
  readonly text: string;
}

/**
 * Builds a PortSet; `onInvalid(index, spec)` must throw for a spec that does not parse (callers name
 * the config field in their error).
 */
export function portSet(specs: readonly unknown[], onInvalid: (index: number, spec: unknown) => never): PortSet {
  const ranges = specs.map((spec, i) => parsePortRange(spec) ?? onInvalid(i, spec));
  return {
    has: (port) => ranges.some((r) => port >= r.from && port <= r.to),
    text: ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', '),
  };
}
