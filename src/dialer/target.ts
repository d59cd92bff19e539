import { InvalidTargetError } from '../errors.js';
import { normalizeIp, stripBrackets } from '../net/address.js';
import { isHostName, normalizeHostName } from '../net/hostname.js';
import { isPort, portDigits } from '../net/port.js';

/** The kubelet of a node, at the node's kubelet port. */
export interface KubeletTarget {
  kind: 'kubelet';
  node: string;
}

/** A port on a node itself (node exporter, a NodePort, sshd...). */
export interface NodePortTarget {
  kind: 'node';
  node: string;
  port: number;
}

/** A host and port: a node's address or name, a pod IP, a ClusterIP, or an explicitly allowed address. */
export interface AddressTarget {
  kind: 'address';
  host: string;
  port: number;
}

/** What dial() accepts: one of the objects, or "host:port" / "[ipv6]:port". */
export type DialTarget = string | KubeletTarget | NodePortTarget | AddressTarget;

export type ParsedTarget = (KubeletTarget | NodePortTarget | (AddressTarget & { ip: boolean })) & {
  /** The target as messages quote it. */
  text: string;
};

export function parseTarget(target: DialTarget): ParsedTarget {
  if (typeof target === 'string') return parseTargetString(target);
  if (target === null || typeof target !== 'object') {
    throw new InvalidTargetError(String(target), 'expected "host:port" or a target object');
  }
  switch (target.kind) {
    case 'kubelet':
      return { kind: 'kubelet', node: checkNodeName(target.node, 'kubelet'), text: `kubelet of node ${target.node}` };
    case 'node': {
      const node = checkNodeName(target.node, 'node');
      const port = checkPort(target.port, `node ${node}`);
      return { kind: 'node', node, port, text: `${node}:${port}` };
    }
    case 'address':
      if (typeof target.host !== 'string' || target.host === '') {
        throw new InvalidTargetError('address target', 'host is missing');
      }
      return addressTarget(target.host, target.port, `${target.host}:${show(target.port)}`);
    default: {
      const kind = (target as { kind?: unknown }).kind;
      throw new InvalidTargetError(show(target), `unknown kind "${typeof kind === 'string' ? kind : show(kind)}" (expected kubelet, node or address)`);
    }
  }
}

function parseTargetString(text: string): ParsedTarget {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\]:(.*)$/.exec(trimmed);
  if (bracketed) return addressTarget(bracketed[1] ?? '', parsePort(bracketed[2] ?? '', trimmed), trimmed);
  const colons = trimmed.split(':').length - 1;
  if (colons === 0) throw new InvalidTargetError(text, 'missing port (expected host:port)');
  if (colons > 1) {
    throw new InvalidTargetError(text, 'an IPv6 address needs brackets and a port, e.g. [fd00::1]:8080');
  }
  const at = trimmed.lastIndexOf(':');
  return addressTarget(trimmed.slice(0, at), parsePort(trimmed.slice(at + 1), trimmed), trimmed);
}

function addressTarget(rawHost: string, port: number, text: string): ParsedTarget {
  const host = stripBrackets(rawHost);
  checkPort(port, text);
  const ip = normalizeIp(host);
  if (ip !== undefined) return { kind: 'address', host: ip, port, ip: true, text };
  if (!isHostName(host)) throw new InvalidTargetError(text, `"${host}" is neither an IP address nor a host name`);
  return { kind: 'address', host: normalizeHostName(host), port, ip: false, text };
}

function parsePort(text: string, target: string): number {
  const port = portDigits(text);
  if (port === undefined) throw new InvalidTargetError(target, `port "${text}" is not a number from 1 to 65535`);
  return checkPort(port, target);
}

function checkPort(port: unknown, target: string): number {
  if (!isPort(port)) {
    throw new InvalidTargetError(target, `port ${show(port)} is not a number from 1 to 65535`);
  }
  return port;
}

function checkNodeName(node: unknown, kind: string): string {
  if (typeof node !== 'string' || node === '') throw new InvalidTargetError(`${kind} target`, 'node name is missing');
  return node;
}

/**
 * Any value as short text for a message. JSON.stringify throws on a BigInt or a cycle and String() on an
 * object without a prototype; a bad target from JavaScript must still end as an InvalidTargetError.
 */
function show(value: unknown): string {
  let text: string | undefined;
  try {
    text = typeof value === 'bigint' ? `${value}n` : JSON.stringify(value);
  } catch {
    // fall through to the type name
  }
  text ??= typeof value === 'object' && value !== null ? 'an object' : typeof value;
  return text.length > 100 ? `${text.slice(0, 100)}...` : text;
}
