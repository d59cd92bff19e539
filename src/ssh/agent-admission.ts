/**
 * The bound on connections that have not authenticated yet, like sshd's MaxStartups: in total and per
 * source address, so one busy or hostile address cannot keep every slot, and agents that are already
 * registered (authenticated, no longer counted) are never affected.
 */
export type AdmissionVerdict = 'admitted' | 'total-limit' | 'source-limit';

export class PreAuthAdmission {
  private total = 0;
  private readonly bySource = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerSource: number,
  ) {}

  /** Connections admitted and not yet released. */
  get unauthenticated(): number {
    return this.total;
  }

  admit(source: string): AdmissionVerdict {
    if (this.total >= this.maxTotal) return 'total-limit';
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource >= this.maxPerSource) return 'source-limit';
    this.total += 1;
    this.bySource.set(source, fromSource + 1);
    return 'admitted';
  }

  /** The connection authenticated or went away: its slot is free. Call once per admitted connection. */
  release(source: string): void {
    const fromSource = this.bySource.get(source) ?? 0;
    if (fromSource <= 0) return;
    this.total -= 1;
    if (fromSource === 1) this.bySource.delete(source);
    else this.bySource.set(source, fromSource - 1);
  }
}
