/**
 * A live "37/200 done, 2 failed" line on a terminal's stderr for runs long enough to need one. It appears
 * only after `delayMs` (a quick run shows nothing), redraws at most every `intervalMs`, and is erased
 * before the results are printed. Off when the stream is not a terminal, so logs and pipes stay clean.
 */

export interface ProgressLine {
  update(done: number, failed: number): void;
  /** Erases the line; call before writing the results. */
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  delayMs?: number;
  intervalMs?: number;
}

interface TtyLike {
  isTTY?: boolean;
  write(text: string): boolean;
}

export function progressLine(stream: TtyLike, options: ProgressOptions): ProgressLine {
  if (stream.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  const { total, delayMs = 300, intervalMs = 100 } = options;
  const started = Date.now();
  let shown = false;
  let lastDraw = 0;
  let state = { done: 0, failed: 0 };
  let dirty = true;
  const draw = (): void => {
    shown = true;
    dirty = false;
    lastDraw = Date.now();
    stream.write(`\r\x1b[K${describeProgress(state.done, state.failed, total)}`);
  };
  // Drawn from a timer too, so the line appears even while every node still waits on a timeout.
  const timer = setInterval(() => {
    if (dirty && Date.now() - started >= delayMs && Date.now() - lastDraw >= intervalMs) draw();
  }, intervalMs);
  timer.unref();
  return {
    update(done, failed) {
      state = { done, failed };
      dirty = true;
      if (shown && Date.now() - lastDraw >= intervalMs) draw();
    },
    stop() {
      clearInterval(timer);
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

export function describeProgress(done: number, failed: number, total: number): string {
  return `${done}/${total} done, ${failed} failed`;
}
