// What every benchmark gets: the shared sshd(s) and peer servers, and the size and run options.
import type { Peer } from './peer.js';
import type { Section } from './report.js';
import type { Sshd, SshKeys } from './sshd.js';

export interface BenchOptions {
  /** Multiplies sizes and sample counts (0.1 for a quick look). */
  scale: number;
  /** Runs per figure (the median is reported). */
  runs: number;
}

export interface Env {
  keys: SshKeys;
  /** sshd on 127.0.2.1..4, node names n1..n4; benchmarks on one node use n1. */
  nodes: Sshd[];
  peer: Peer;
}

export interface Benchmark {
  name: string;
  run(env: Env, options: BenchOptions, log: (line: string) => void): Promise<Section>;
}

/** Scales a count, keeping at least `min`. */
export const scaled = (n: number, options: BenchOptions, min = 1): number => Math.max(min, Math.round(n * options.scale));
