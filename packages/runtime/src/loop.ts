import { setTimeout as sleep } from "node:timers/promises";

export interface LoopOptions {
  readonly intervalMs: number | (() => number);
  readonly signal: AbortSignal;
  /** Called with the error of a failed tick; the loop goes on. */
  readonly onError?: (err: unknown) => void;
}

/**
 * Runs `tick` every interval until the signal aborts. One tick at a time: a slow tick delays the
 * next instead of overlapping it, and no timer is left behind when the loop ends.
 */
export async function runLoop(
  tick: (signal: AbortSignal) => Promise<void> | void,
  opts: LoopOptions,
): Promise<void> {
  const { signal } = opts;
  while (!signal.aborted) {
    const started = performance.now();
    try {
      await tick(signal);
    } catch (err) {
      if (signal.aborted) break;
      opts.onError?.(err);
    }
    const interval = typeof opts.intervalMs === "function" ? opts.intervalMs() : opts.intervalMs;
    const wait = Math.max(0, interval - (performance.now() - started));
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      break; // aborted while waiting
    }
  }
}

/** A promise of `ms` that resolves early (without throwing) when the signal aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch {
    // aborted: the caller checks signal.aborted
  }
}
