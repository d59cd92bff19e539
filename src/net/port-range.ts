/** Port ranges as options spell them: a port (443 or "443") or an inclusive ascending range ("8000-8100"). */
import { isPort, portDigits } from './port.js';

export interface PortRange {
  from: number;
  to: number;
}

/** Parses one spec; undefined when it is not a port or an ascending range of ports. */
export function parsePortRange(spec: unknown): PortRange | undefined {
  if (typeof spec === 'number') return isPort(spec) ? { from: spec, to: spec } : undefined;
  if (typeof spec !== 'string') return undefined;
  const [fromText = '', toText, ...rest] = spec.split('-');
  const from = portDigits(fromText);
  const to = toText === undefined ? from : portDigits(toText);
  return rest.length === 0 && isPort(from) && isPort(to) && from <= to ? { from, to } : undefined;
}
