/**
 * A stable code for a failed list or watch, for /status's lastError and the
 * ssh_egress_inventory_errors_total{reason} label: a short fixed list, whatever the message says.
 */
import { isRecord } from '../util/is-record.js';
import { statusCodeOf } from './kube-errors.js';

export const INVENTORY_ERROR_CODES = [
  'ERR_KUBE_UNREACHABLE',
  'ERR_KUBE_UNAUTHORIZED',
  'ERR_KUBE_FORBIDDEN',
  'ERR_KUBE_GONE',
  'ERR_KUBE_SERVER',
  'ERR_KUBE_HTTP',
  'ERR_KUBE_TIMEOUT',
] as const;

export type InventoryErrorCode = (typeof INVENTORY_ERROR_CODES)[number];

export function inventoryErrorCode(err: unknown): InventoryErrorCode {
  const status = statusCodeOf(err);
  if (status === 401) return 'ERR_KUBE_UNAUTHORIZED';
  if (status === 403) return 'ERR_KUBE_FORBIDDEN';
  if (status === 410) return 'ERR_KUBE_GONE';
  if (status !== undefined) return status >= 500 ? 'ERR_KUBE_SERVER' : 'ERR_KUBE_HTTP';
  // The reflector's own deadlines (a list that takes too long, a watch open past its end) are timeouts.
  if (isRecord(err) && (err.name === 'TimeoutError' || /timed out|presumed dead/i.test(String(err.message)))) return 'ERR_KUBE_TIMEOUT';
  return 'ERR_KUBE_UNREACHABLE';
}
