import { CHECK_STEPS, type CheckStep, type CheckStepName, type StepError } from './check-result.js';

/**
 * Times the steps of one node's check from milestones. A milestone marks its step done; marking an
 * earlier step again (a retried handshake starts at TCP again) forgets the later ones.
 */
export class StepClock {
  private readonly started = performance.now();
  private readonly marks = new Map<CheckStepName, number>();

  mark(step: CheckStepName): void {
    for (const later of CHECK_STEPS.slice(CHECK_STEPS.indexOf(step))) this.marks.delete(later);
    this.marks.set(step, performance.now());
  }

  /** The first step not yet marked: where the check stands now. */
  get current(): CheckStepName | undefined {
    return CHECK_STEPS.find((step) => !this.marks.has(step));
  }

  get elapsedMs(): number {
    return performance.now() - this.started;
  }

  /**
   * The steps as reported: marked ones passed; `failed` failed now with `error`; the rest skipped.
   * `failed` forgets its own and later marks (a retry may have passed it before failing earlier).
   */
  steps(failed?: { step: CheckStepName; error: StepError }): CheckStep[] {
    const now = performance.now();
    if (failed) for (const later of CHECK_STEPS.slice(CHECK_STEPS.indexOf(failed.step))) this.marks.delete(later);
    let previous = this.started;
    return CHECK_STEPS.map((name): CheckStep => {
      const at = this.marks.get(name);
      if (at !== undefined) {
        const ms = at - previous;
        previous = at;
        return { name, ok: true, skipped: false, ms: round(ms), error: null };
      }
      if (failed?.step === name) return { name, ok: false, skipped: false, ms: round(now - previous), error: failed.error };
      return { name, ok: false, skipped: true, ms: null, error: null };
    });
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
