/**
 * The zod rules option fields are built from, shared by the library's options (pool, dialer, front ends)
 * and the config file that composes them, so a value gets the same check and the same words wherever it
 * is given.
 */
import { z } from 'zod';
import { isCidr } from '../net/cidr.js';
import { isIp } from '../net/address.js';
import { isPort } from '../net/port.js';
import { rule } from '../util/zod-rule.js';

/** Longest timer Node honours; a longer setTimeout fires at once (with only a warning). */
export const MAX_DURATION_MS = 2 ** 31 - 1;

const isWholeNumber = (v: unknown, minimum: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= minimum;
const isDurationMs = (v: unknown, minimum: number): boolean => isWholeNumber(v, minimum) && v <= MAX_DURATION_MS;

export const durationMsRule = rule<number>((v) => isDurationMs(v, 1), `a whole number of milliseconds from 1 to ${MAX_DURATION_MS}`);
/** A period where 0 turns the thing off (keepalive). */
export const durationMsOrOffRule = rule<number>((v) => isDurationMs(v, 0), `a whole number of milliseconds from 0 (off) to ${MAX_DURATION_MS}`);
export const countRule = rule<number>((v) => isWholeNumber(v, 1), 'a whole number >= 1');
export const countUpToRule = (maximum: number) =>
  rule<number>((v) => isWholeNumber(v, 1) && v <= maximum, `a whole number from 1 to ${maximum}`);
export const bytesAtLeastRule = (minimum: number) => rule<number>((v) => isWholeNumber(v, minimum), `a whole number of bytes >= ${minimum}`);
export const fractionRule = rule<number>((v) => typeof v === 'number' && v >= 0 && v <= 1, 'a fraction from 0 to 1');
export const portRule = rule<number>(isPort, 'a port number (1..65535)');
export const booleanRule = z.boolean();

/** Not empty, no NUL (which the OS would refuse later with a far worse message). */
export const filePathRule = rule<string>((v) => typeof v === 'string' && v !== '' && !v.includes('\0'), 'a file path');
export const envNameRule = rule<string>((v) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v), 'an environment variable name');
/** A login name: no whitespace or control characters, which would only fail later at authentication. */
export const userNameRule = rule<string>(
  (v) => typeof v === 'string' && v.length <= 256 && /^[^\s\x00-\x1f\x7f:/]+$/.test(v),
  'a user name',
);
/** Text on one line, not blank: a kubeconfig context, a label selector. */
export const oneLineRule = (what: string) => rule<string>((v) => typeof v === 'string' && v.trim() !== '' && !/[\n\r]/.test(v), what);

/** A CIDR; a bare address gets the hint to add its one-address prefix. */
export const cidrRule = rule<string>(isCidr, notCidr);

export function notCidr(value: unknown): string {
  if (typeof value !== 'string' || !isIp(value)) return 'a CIDR';
  return `a CIDR (write ${value}/${value.includes(':') ? 128 : 32} for one address)`;
}

/** Values zod cannot describe (a logger, a Map, a connector): only their kind is checked. */
export const objectRule = <T>(what: string) => rule<T>((v) => v !== null && typeof v === 'object', what);
export const functionRule = <T>(what: string) => rule<T>((v) => typeof v === 'function', what);
