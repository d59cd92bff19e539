/**
 * ConfigErrors that name the input as well as the field: "ssh-egress.yaml: ssh.user: required field is
 * missing". The one converter from zod issues for the config file, flags and the library's options.
 */
import type { z } from 'zod';
import { ConfigError, type EgressErrorDetails } from '../errors.js';
import { formatPath } from '../util/field-path.js';
import { describeIssue, withUnionsResolved } from '../util/zod-issues.js';

/** Names the field an issue is about; the config file names inline inventory nodes too. */
export type IssuePathOf = (field: readonly PropertyKey[], data: unknown) => { path: string; node: string | undefined };

const plainPath: IssuePathOf = (field) => ({ path: formatPath(field), node: undefined });

/** A ConfigError whose message starts with `source` while `path` stays the bare field path. */
export function configError(source: string, path: string, problem: string, details: EgressErrorDetails = {}): ConfigError {
  const err = new ConfigError(path, problem, details);
  // ConfigError has no notion of a file; the prefix tells which of several configs is wrong.
  if (source) err.message = `${source}: ${err.message}`;
  return err;
}

/** Hints for unknown fields people are likely to write. */
const UNKNOWN_FIELD_HINTS: Record<string, string> = {
  passphrase: 'passphrases are not kept in the config: use passphraseFile or passphraseEnv',
  password: 'passwords are not kept in the config: use passwordFile or passwordEnv',
};

/**
 * The first problem zod found, as a ConfigError: the one converter for the config file, flags and the
 * library's options. Unknown fields come first, since a misspelt key is usually also why a required one
 * looks missing. `root` names the value itself when it is not a document (a flag: "--user").
 */
export function configErrorFromZod(
  error: z.ZodError,
  schema: z.ZodType,
  data: unknown,
  source: string,
  root = '',
  pathOf: IssuePathOf = plainPath,
): ConfigError {
  const issues = withUnionsResolved(error.issues).sort((a, b) => rank(a) - rank(b));
  const [first, ...more] = issues;
  if (!first) return configError(source, '', 'invalid configuration');
  const { field, problem } = describeIssue(first);
  let text = problem;
  if (first.code === 'unrecognized_keys') {
    const key = String(field.at(-1));
    text += ` (${UNKNOWN_FIELD_HINTS[key] ?? `known fields: ${knownFieldsAt(schema, first.path).join(', ')}`})`;
  }
  if (more.length) text += ` (and ${more.length} more problem${more.length > 1 ? 's' : ''})`;
  const { path, node } = pathOf(field, data);
  const named = root && path ? `${root}${path.startsWith('[') ? '' : '.'}${path}` : root || path;
  return configError(source, named, text, node === undefined ? {} : { node });
}

function rank(issue: z.core.$ZodIssue): number {
  return issue.code === 'unrecognized_keys' ? 0 : 1;
}

/** The keys of the strict object at `path` in `schema`, for "unknown field (known fields: ...)". */
export function knownFieldsAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    current = unwrap(current);
    const def: z.core.$ZodTypeDef | undefined = current?._zod.def;
    if (def?.type === 'object') current = (def as z.core.$ZodObjectDef).shape[String(segment)];
    else if (def?.type === 'union') current = objectOption(def as z.core.$ZodUnionDef)?._zod.def.shape[String(segment)];
    else if (def?.type === 'array') current = (def as z.core.$ZodArrayDef).element;
    else return [];
  }
  const def = unwrap(current)?._zod.def;
  if (def?.type === 'union') return Object.keys(objectOption(def as z.core.$ZodUnionDef)?._zod.def.shape ?? {});
  return def?.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

/** The mapping form of a union such as "a string or { cidr, ports }". */
function objectOption(def: z.core.$ZodUnionDef): z.core.$ZodObject | undefined {
  return def.options.map(unwrap).find((o): o is z.core.$ZodObject => o?._zod.def.type === 'object');
}

/** Looks through optional() and transform() (a pipe) to the schema that holds the shape. */
function unwrap(schema: z.core.$ZodType | undefined): z.core.$ZodType | undefined {
  let current = schema;
  for (;;) {
    const def: z.core.$ZodTypeDef | undefined = current?._zod.def;
    if (def?.type === 'optional') current = (def as z.core.$ZodOptionalDef).innerType;
    else if (def?.type === 'pipe') current = (def as z.core.$ZodPipeDef).in;
    else return current;
  }
}
