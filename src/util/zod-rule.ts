import { z } from 'zod';
import { show } from './show-value.js';

/**
 * A zod check with our message: 'required field is missing' when absent, else '<value> is not <what>'.
 * `what` may be a function of the value, for a hint that depends on it.
 */
export function rule<T>(test: (value: unknown) => boolean, what: string | ((value: unknown) => string)) {
  return z.custom<T>(test, {
    error: (iss) => {
      if (iss.input === undefined) return 'required field is missing';
      return `${show(iss.input)} is not ${typeof what === 'string' ? what : what(iss.input)}`;
    },
  });
}

/** One of a few fixed strings. */
export function oneOf<T extends string>(values: readonly T[]) {
  return rule<T>((v) => values.includes(v as T), `one of ${values.join(', ')}`);
}
