// Command-line options of the soak: `--duration 10m --workers 16 --report FILE`.
import { CHAOS_KINDS, type ChaosKind } from './soak-chaos.js';

export interface SoakOptions {
  /** Total load time; chaos runs for the first part of it, the rest shows recovery under load. */
  durationMs: number;
  /** Concurrent client loops. */
  workers: number;
  /** A stream neither finished nor failed by then counts as hung. */
  streamDeadlineMs: number;
  /** Mean time between chaos actions. */
  chaosEveryMs: number;
  /** Where the Markdown report goes. */
  reportFile: string | undefined;
  /** Seed for the chaos schedule and the payloads, so a run can be repeated. */
  seed: number;
  /** The chaos actions to use (all by default); narrowing them helps to find which one causes a problem. */
  chaos: readonly ChaosKind[];
}

export const DEFAULTS: SoakOptions = {
  durationMs: 3 * 60_000,
  workers: 16,
  streamDeadlineMs: 30_000,
  chaosEveryMs: 4_000,
  reportFile: undefined,
  seed: Date.now() % 1_000_000,
  chaos: CHAOS_KINDS,
};

/** Hard ceiling: every loop in the soak is bounded by this, whatever is asked. */
export const MAX_DURATION_MS = 2 * 60 * 60_000;

/** "90s", "10m", "1h", "1500ms", or plain seconds ("180"). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (examples: 90s, 10m, 1h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 20_000 || ms > MAX_DURATION_MS) throw new Error(`duration must be from 20s to 2h, got ${text}`);
  return ms;
}

export function parseSoakArgs(argv: readonly string[]): SoakOptions {
  const options = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const count = (min: number, max: number): number => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be a whole number from ${min} to ${max}`);
      return n;
    };
    switch (flag) {
      case '--duration':
        options.durationMs = parseDuration(value());
        break;
      case '--workers':
        options.workers = count(1, 256);
        break;
      case '--report':
        options.reportFile = value();
        break;
      case '--seed':
        options.seed = count(0, 2 ** 31 - 1);
        break;
      case '--chaos': {
        const kinds = value().split(',').filter((k) => k !== '' && k !== 'none');
        const unknown = kinds.filter((k) => !(CHAOS_KINDS as readonly string[]).includes(k));
        if (unknown.length > 0) throw new Error(`--chaos: unknown ${unknown.join(', ')} (known: ${CHAOS_KINDS.join(', ')}, or "none")`);
        options.chaos = kinds as ChaosKind[];
        break;
      }
      default:
        throw new Error(`unknown option ${flag} (known: --duration, --workers, --report, --seed, --chaos)`);
    }
  }
  return options;
}
