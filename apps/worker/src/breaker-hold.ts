import { LANES, type Lane } from "@moonfleet/domain";
import type { ErrorLog } from "./error-log.js";
import type { LaneWorkers } from "./lane-workers.js";
import type { WorkerEvents } from "./worker-events.js";

/**
 * While this process's circuit breaker is open its lane workers take no jobs. A breaker is one
 * process's own (its pool, its path to the upstream): a job it took would only be told "not now"
 * and held, its tokens and all, for the rest of the cool-down (up to NOT_NOW_RECHECK_MS), though
 * another worker's breaker is closed; and a worker that fails fast takes more jobs than its share.
 * So it pauses its lanes when the breaker opens (the jobs it holds go back at once, see
 * ownNotNowHoldMs) and resumes them when the cool-down ends, when the breaker lets its trial calls
 * through.
 */
export interface BreakerHold {
  /** Whether this process takes no jobs now (its breaker opened and the cool-down runs). */
  holding(): boolean;
  /** Stops the resume timer; the workers stay as they are (they are closing). */
  stop(): void;
}

export function holdJobsWhileBreakerOpen(o: {
  readonly events: WorkerEvents;
  readonly workers: LaneWorkers;
  /** The breaker's cool-down (BREAKER_COOLDOWN_MS, read when it opens). */
  readonly cooldownMs: () => number;
  readonly errors: ErrorLog;
}): BreakerHold {
  let stopped = false;
  // holding while the cool-down's timer runs
  let timer: NodeJS.Timeout | null = null;
  const report = (what: string) => (err: unknown) =>
    o.errors.log(`breaker_hold:${what}`, { err: String(err) }, `could not ${what} the lane workers`);
  // the lanes this hold paused: it resumes those alone (a resume starts a worker that is not running)
  const paused = new Set<Lane>();
  const resume = () => {
    timer = null;
    for (const lane of paused) {
      const w = o.workers[lane];
      if (!stopped && !w.closing) w.resume().catch(report("resume"));
    }
    paused.clear();
  };
  const off = o.events.on("breaker", ({ to }) => {
    if (to !== "open" || stopped) return;
    // not waiting for the jobs in flight: they end on their own ("not now", back to the queue)
    for (const lane of LANES) {
      const w = o.workers[lane];
      if (w.closing || paused.has(lane)) continue;
      paused.add(lane);
      w.pause(true).catch(report("pause"));
    }
    if (timer) clearTimeout(timer);
    timer = setTimeout(resume, o.cooldownMs());
    timer.unref();
  });
  return {
    holding: () => timer !== null,
    stop() {
      stopped = true;
      off();
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
