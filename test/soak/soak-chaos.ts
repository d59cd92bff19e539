// The chaos loop's actions on real sshd in the node namespaces: kill the SSH sessions, stop sshd, freeze it
// (SIGSTOP: a black hole), and take the node out of the inventory; each undone a few seconds later.
import { isAlive, namespacePids, processName, signal, waitFor } from '../system/netns.js';
import { killSshd, nodeOf, sshdPid, startSshd, type Topology } from '../system/topology.js';
import type { SoakDaemon } from './soak-daemon.js';
import type { Random } from './soak-random.js';

export type ChaosKind = 'kill-sessions' | 'stop-sshd' | 'freeze' | 'remove-node';
export const CHAOS_KINDS: readonly ChaosKind[] = ['kill-sessions', 'stop-sshd', 'freeze', 'remove-node'];

/** One action or its undoing, for the report's timeline. */
export interface ChaosEvent {
  at: number;
  node: string;
  action: string;
}

interface Fault {
  node: string;
  kind: Exclude<ChaosKind, 'kill-sessions'>;
  undoAt: number;
}

export class Chaos {
  /** Actions taken, by kind. */
  readonly counts: Record<ChaosKind, number> = { 'kill-sessions': 0, 'stop-sshd': 0, freeze: 0, 'remove-node': 0 };
  readonly events: ChaosEvent[] = [];
  private readonly faults = new Map<string, Fault>();

  constructor(
    private readonly t: Topology,
    private readonly daemon: SoakDaemon,
    private readonly random: Random,
    private readonly kinds: readonly ChaosKind[] = CHAOS_KINDS,
  ) {}

  /** Never more than half the nodes impaired at once, so there is always somewhere for the load to go. */
  private get maxFaults(): number {
    return Math.floor(this.t.nodes.length / 2);
  }

  /** Undoes the faults that are due, then starts one new action on a healthy node. */
  async step(now = Date.now()): Promise<void> {
    for (const fault of [...this.faults.values()]) if (fault.undoAt <= now) await this.undo(fault);
    const healthy = this.t.nodes.map((n) => n.name).filter((n) => !this.faults.has(n));
    if (healthy.length === 0 || this.kinds.length === 0) return;
    const node = this.random.pick(healthy);
    const lasting = this.kinds.filter((k) => k !== 'kill-sessions');
    if (this.faults.size >= this.maxFaults && lasting.length === this.kinds.length) return;
    const kind = this.faults.size >= this.maxFaults ? 'kill-sessions' : this.random.pick(this.kinds);
    this.counts[kind] += 1;
    this.events.push({ at: Date.now(), node, action: kind });
    if (kind === 'kill-sessions') {
      await this.killSessions(node);
      return;
    }
    this.faults.set(node, { node, kind, undoAt: now + this.random.int(2_000, 8_000) });
    switch (kind) {
      case 'stop-sshd':
        await killSshd(this.t, node, 'SIGKILL', { sessions: true });
        break;
      case 'freeze':
        await killSshd(this.t, node, 'SIGSTOP', { sessions: true });
        break;
      case 'remove-node':
        this.applyInventory();
        break;
    }
  }

  /** Undoes every fault still active (the end of the chaos phase). */
  async undoAll(): Promise<void> {
    for (const fault of [...this.faults.values()]) await this.undo(fault);
  }

  private async undo(fault: Fault): Promise<void> {
    this.faults.delete(fault.node);
    this.events.push({ at: Date.now(), node: fault.node, action: `undo ${fault.kind}` });
    switch (fault.kind) {
      case 'stop-sshd':
        await startSshd(this.t, fault.node);
        break;
      case 'freeze':
        await killSshd(this.t, fault.node, 'SIGCONT', { sessions: true });
        break;
      case 'remove-node':
        this.applyInventory();
        break;
    }
  }

  /** SIGKILL the node's SSH session processes, leaving the listener: the connection drops, sshd stays up. */
  private async killSessions(node: string): Promise<void> {
    const listener = sshdPid(this.t, node);
    const ns = nodeOf(this.t, node).namespace;
    const sessions = (await namespacePids(ns)).filter((p) => p !== listener && processName(p)?.startsWith('sshd'));
    for (const pid of sessions) signal(pid, 'SIGKILL');
    await waitFor(`sessions on ${node} to exit`, () => sessions.every((p) => !isAlive(p)), 5_000);
  }

  /** The inventory without the nodes currently taken out, and SIGHUP so the daemon applies it. */
  private applyInventory(): void {
    const removed = new Set([...this.faults.values()].filter((f) => f.kind === 'remove-node').map((f) => f.node));
    this.daemon.writeInventory(this.t.nodes.map((n) => n.name).filter((n) => !removed.has(n)));
    this.daemon.reload();
  }
}
