/** zod issues in our words, shared by the config file, the inventory and the library's options. */
import type { z } from 'zod';
import { show } from './show-value.js';

type Issue = z.core.$ZodIssue;

const EXPECTED: Record<string, string> = { array: 'a list', object: 'a mapping', record: 'a mapping' };

/** The problem a zod issue describes; `field` gains the offending key for unknown fields. */
export function describeIssue(issue: Issue): { field: PropertyKey[]; problem: string } {
  const input = 'input' in issue ? issue.input : undefined;
  switch (issue.code) {
    case 'unrecognized_keys':
      return { field: [...issue.path, issue.keys[0] ?? ''], problem: 'unknown field' };
    case 'invalid_type':
      if (input === undefined) return { field: issue.path, problem: 'required field is missing' };
      return { field: issue.path, problem: `expected ${EXPECTED[issue.expected] ?? `a ${issue.expected}`}, got ${show(input)}` };
    default:
      return { field: issue.path, problem: issue.message };
  }
}

/**
 * Replaces a failed union ("a string or a mapping") by the issues of the one branch whose type the value
 * has, so a mapping with a bad field says which field; when no branch takes the type, the union's own
 * message stays.
 */
export function withUnionsResolved(issues: readonly Issue[]): Issue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== 'invalid_union') return [issue];
    const typed = issue.errors.filter((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
    const [branch] = typed;
    if (typed.length !== 1 || !branch) return [issue];
    return withUnionsResolved(branch.map((i) => ({ ...i, path: [...issue.path, ...i.path] }) as Issue));
  });
}
