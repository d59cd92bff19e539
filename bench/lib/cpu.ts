// CPU time of processes (and their descendants) from /proc, to show which process limits a transfer.
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; ticks: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // After "(comm) ": state ppid ... utime(14th field overall => index 11 here) stime(12)
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
  } catch {
    return undefined;
  }
}

/**
 * One pass over /proc: a function giving the CPU milliseconds used so far by a pid and every live descendant
 * (children that exited are not counted). Several process trees read from one snapshot are read at one instant.
 */
export function cpuSnapshot(): (pid: number) => number {
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const s = stat(p);
    if (!s) continue;
    ticks.set(p, s.ticks);
    const list = children.get(s.ppid) ?? [];
    list.push(p);
    children.set(s.ppid, list);
  }
  return (pid) => {
    let total = 0;
    const stack = [pid];
    while (stack.length) {
      const p = stack.pop() as number;
      total += ticks.get(p) ?? 0;
      stack.push(...(children.get(p) ?? []));
    }
    return (total * 1000) / TICKS_PER_SECOND;
  };
}

/** CPU milliseconds used so far by `pid` and every live descendant. */
export const treeCpuMs = (pid: number): number => cpuSnapshot()(pid);

/** CPU ms of this process (user + system), more precise than /proc's ticks. */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
