import { parsePortRange } from '../net/port-range.js';

/** A port (443) or an inclusive port range ("8000-8100"), as policy options spell them. */
export type PortSpec = number | string;

/** A set of TCP ports built from port specs; keeps the specs' text for messages. */
export interface PortSet {
  has(port: number): boolean;
  /** "443, 8000-8100", in the order given. */
  readonly text: string;
}

/** Builds a PortSet from specs the policy schema accepted. */
export function portSet(specs: readonly PortSpec[]): PortSet {
  // The schema accepted every spec, so each parses.
  const ranges = specs.map((spec) => parsePortRange(spec)!);
  return {
    has: (port) => ranges.some((r) => port >= r.from && port <= r.to),
    text: ranges.map((r) => (r.from === r.to ? String(r.from) : `${r.from}-${r.to}`)).join(', '),
  };
}
