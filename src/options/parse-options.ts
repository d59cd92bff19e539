/**
 * Options through their schema, once, at construction: a bad value is the same ConfigError (same words,
 * the field's path) whether it came from the config file, a command-line flag or a constructor.
 */
import type { z } from 'zod';
import { configErrorFromZod } from './option-error.js';

export interface OptionsSource {
  /** Names the input in the message ("ssh-egress.yaml"); none for a constructor's options. */
  source?: string;
  /** Stands for the value's own path: a flag's name ("--connect-timeout") when one value is checked. */
  root?: string;
}

/** The parsed value (defaults not filled: each options type spreads its own DEFAULTS over it). */
export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, where: OptionsSource = {}): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw configErrorFromZod(result.error, schema, input, where.source ?? '', where.root ?? '');
  return result.data;
}
