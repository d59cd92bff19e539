import type { z } from 'zod';

/**
 * A zod shape with a rule for every field of the documented options type T and no other field (checked with
 * `satisfies`), so the interface and its schema cannot drift apart.
 */
export type ShapeOf<T> = { [K in keyof Required<T>]: z.ZodType<T[K]> };
