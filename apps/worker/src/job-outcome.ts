// How a batch job ends, in BullMQ's terms. A job returns (done), throws a plain error (failed:
// BullMQ retries it within its attempts), or throws one of these named outcomes, which the job
// handler turns into BullMQ's own: a rate limit (the queue stops handing out jobs for a while,
// fleet-wide, and this job waits with its attempts intact: Worker.RateLimitError), a delay (only
// this job moves to the delayed set with its attempts intact: DelayedError), or unrecoverable
// (failed at once, no retry: UnrecoverableError).
import { LANES, type Lane } from "@moonfleet/domain";
import {
  UpstreamCircuitOpenError,
  UpstreamRateLimitedError,
  delayOf,
  type UpstreamError,
} from "@moonfleet/upstream";

/** Longest a queue holds its jobs for an upstream "not now" before a job asks the budget again. */
export const NOT_NOW_RECHECK_MS = 5_000;
/** Shortest hold, so a wait of a few ms does not spin a job through the queue. */
export const NOT_NOW_MIN_MS = 100;

/** A "not now" wait as the queue applies it: the budget enforces the real wait, the queue rechecks. */
export const notNowHoldMs = (ms: number): number =>
  Math.max(NOT_NOW_MIN_MS, Math.min(ms, NOT_NOW_RECHECK_MS));

/**
 * How long a job waits that this process's own "not now" refused (its breaker): a moment when the
 * process takes no jobs meanwhile (breaker-hold.ts), so another worker takes it at once; else (a
 * half-open breaker's trials are all out, or a breaker that opened with no hold) the wait asked, as
 * notNowHoldMs.
 */
export const ownNotNowHoldMs = (ms: number, holding: boolean): number =>
  holding ? NOT_NOW_MIN_MS : notNowHoldMs(ms);

/**
 * Something the whole fleet shares said "not now": the upstream's 429 (every lane) or the fleet's
 * request budget (this lane). The queues of `lanes` stop handing out jobs for `delayMs`.
 */
export class JobRateLimitedError extends Error {
  override name = "JobRateLimitedError";
  constructor(
    readonly delayMs: number,
    readonly lanes: readonly Lane[],
    readonly cause429: boolean,
  ) {
    super(`rate limited for ${delayMs} ms (${lanes.join(", ")})`);
  }
}

/**
 * Something this process owns said "not now" (its circuit breaker, or Redis out of memory for its
 * writes): only this job waits `delayMs`; the queue goes on serving the other workers.
 */
export class JobDelayedError extends Error {
  override name = "JobDelayedError";
  constructor(
    readonly delayMs: number,
    readonly why: "circuit_open" | "redis_oom",
  ) {
    super(`job delayed ${delayMs} ms (${why})`);
  }
}

export type JobNotNow = JobRateLimitedError | JobDelayedError;

/**
 * What a batch's "not now" failures mean for its job: the widest scope among them wins (a 429
 * holds every lane; the fleet's budget, this lane; this process's breaker, this job alone), for the longest wait any
 * of them asked. null: none said "not now".
 */
export function notNowOutcome(lane: Lane, failures: Iterable<UpstreamError>): JobNotNow | null {
  let delayMs: number | null = null;
  let scope: "job" | "lane" | "fleet" | null = null;
  const widen = (s: "job" | "lane" | "fleet") => {
    const rank = { job: 0, lane: 1, fleet: 2 } as const;
    if (scope === null || rank[s] > rank[scope]) scope = s;
  };
  for (const err of failures) {
    const ms = delayOf(err);
    if (ms === null) continue;
    delayMs = Math.max(delayMs ?? 0, ms);
    widen(
      err instanceof UpstreamRateLimitedError
        ? "fleet"
        : err instanceof UpstreamCircuitOpenError
          ? "job"
          : "lane",
    );
  }
  if (delayMs === null || scope === null) return null;
  if (scope === "fleet") return new JobRateLimitedError(delayMs, LANES, true);
  if (scope === "lane") return new JobRateLimitedError(delayMs, [lane], false);
  return new JobDelayedError(delayMs, "circuit_open");
}
