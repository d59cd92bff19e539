/** TCP port numbers. */

export const MAX_PORT = 65535;

/** A port to connect to: a whole number from 1 to 65535. */
export function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_PORT;
}

/** A port or 0: a listener's "any free port", or a Kubernetes field's "not set". */
export function isPortOrZero(value: unknown): value is number {
  return value === 0 || isPort(value);
}

/** "443" -> 443; digits only (Number() would also take "0x1bb", "1e3" or " 443"), range not checked. */
export function portDigits(text: string): number | undefined {
  return /^\d{1,5}$/.test(text) ? Number(text) : undefined;
}
