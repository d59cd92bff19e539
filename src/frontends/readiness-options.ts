/** When /readyz answers 200: the options, their schema and defaults (the config file's `readiness:` section). */
import { z } from 'zod';
import { fractionRule } from '../options/option-rules.js';
import type { ShapeOf } from '../util/shape-of.js';
import { rule } from '../util/zod-rule.js';

export interface ReadinessOptions {
  /** Share of tunnels (0..1) that must be READY. Default 0.5 (CONFIG_DEFAULTS). */
  readyFraction?: number;
  /**
   * Not ready once the inventory has been failing to sync (the Kubernetes API away) for longer than this.
   * Default: off: tunnels keep working on the last known nodes, and /readyz?verbose only says how stale.
   */
  maxInventoryStalenessSeconds?: number;
}

/** Up to a year: longer is as good as off, and likelier a unit mistake (milliseconds). */
const MAX_STALENESS_SECONDS = 366 * 24 * 3600;

export const readinessOptionsObject = z.strictObject({
  readyFraction: fractionRule.optional(),
  maxInventoryStalenessSeconds: rule<number>(
    (v) => typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= MAX_STALENESS_SECONDS,
    `a whole number of seconds from 1 to ${MAX_STALENESS_SECONDS}`,
  ).optional(),
} satisfies ShapeOf<ReadinessOptions>);
