import { setTimeout as sleep } from "node:timers/promises";
import type { Lane } from "@moonfleet/domain";
import { DelayedError, UnrecoverableError, Worker, type Job, type Queue } from "bullmq";
import { batchJobSchema, type BatchJob, type BatchResult } from "@moonfleet/queues";
import type { BatchOutcome } from "./batch-processor.js";
import { JobDelayedError, JobRateLimitedError, notNowHoldMs, ownNotNowHoldMs } from "./job-outcome.js";
import type { LaneController } from "./lane-controller.js";
import type { WorkerEvents } from "./worker-events.js";

/**
 * Redis refuses writes: maxmemory reached with the noeviction policy. A MULTI whose commands were
 * refused ends in EXECABORT; ioredis keeps the refusals in `previousErrors`.
 */
export const isRedisOutOfMemory = (err: unknown): boolean => {
  if (!(err instanceof Error)) return false;
  if (/^OOM\b/.test(err.message)) return true;
  const previous = (err as Error & { previousErrors?: unknown }).previousErrors;
  return /^EXECABORT\b/.test(err.message) && Array.isArray(previous) && previous.some(isRedisOutOfMemory);
};
/** A batch that met a Redis out of memory waits this long (and keeps its attempts) before it runs again. */
export const OOM_RETRY_DELAY_MS = 5_000;

export interface JobHandlerDeps {
  readonly processBatch: (job: BatchJob) => Promise<BatchOutcome>;
  readonly lanes: Readonly<Record<Lane, LaneController>>;
  readonly queues: Readonly<Record<Lane, Queue>>;
  readonly events: WorkerEvents;
  readonly now: () => number;
  /** Whether this process takes no jobs now, its breaker open (breaker-hold.ts). */
  readonly holdingJobs?: () => boolean;
  /** Fires when the process drains for shutdown: a slot resting below full duty runs its job at once. */
  readonly draining?: AbortSignal;
}

export type BatchHandler = (job: Job<BatchJob, BatchResult>, token?: string) => Promise<BatchResult>;

/**
 * The job handler of each lane: runs the batch, reports it, and ends the job in BullMQ's terms
 * (done, failed, rate limited, delayed or unrecoverable). It decides nothing itself: the outcome
 * comes from the batch processor (see job-outcome.ts).
 */
export function createJobHandler(deps: JobHandlerDeps): (lane: Lane) => BatchHandler {
  const { lanes, events } = deps;

  /** Applies a named outcome and returns the error BullMQ understands for it. */
  async function apply(err: unknown, lane: Lane, job: Job, token: string | undefined, scored: number | null) {
    if (err instanceof JobRateLimitedError) {
      // BullMQ's rate limit: the queues stop handing out jobs fleet-wide, and this job goes back to
      // wait with its attempts intact. The budget itself enforces a pause, so a queue only holds for
      // a recheck interval: a pause an admin clears (DELETE /admin/budget/pause) ends for the fleet
      // within seconds, not a minute.
      const delayMs = notNowHoldMs(err.delayMs);
      await Promise.all(err.lanes.map((l) => deps.queues[l].rateLimit(delayMs)));
      events.emit("deferred", { lane, jobId: job.id, outcome: err, delayMs, scored });
      return Worker.RateLimitError();
    }
    // A delay is this process's own (its breaker, its writes): the job alone moves to the delayed
    // set (the move frees its lock first), and the queue goes on serving the fleet; while this
    // process holds off jobs for its open breaker, only for a moment, as another worker takes it.
    if (err instanceof JobDelayedError && token) {
      const delayMs =
        err.why === "redis_oom" ? err.delayMs : ownNotNowHoldMs(err.delayMs, deps.holdingJobs?.() ?? false);
      await job.moveToDelayed(deps.now() + delayMs, token);
      events.emit("deferred", { lane, jobId: job.id, outcome: err, delayMs, scored });
      return new DelayedError();
    }
    return err;
  }

  return (lane) => async (job, token) => {
    const parsed = batchJobSchema.safeParse(job.data);
    // However often it runs, a payload that is not a batch stays one: fail it without retries.
    if (!parsed.success) throw new UnrecoverableError(`not a batch job: ${parsed.error.message}`);
    lanes[lane].active++;
    let scored: number | null = null;
    try {
      // Out of memory is Redis's state, not the batch's fault: the job waits and keeps its attempts.
      const result = await deps.processBatch(parsed.data).catch((err: unknown) => {
        throw isRedisOutOfMemory(err) ? new JobDelayedError(OOM_RETRY_DELAY_MS, "redis_oom") : err;
      });
      scored = result.scored;
      lanes[lane].recordJob(result.durationMs, result.scored, result.failed);
      events.emit("batch", { lane, jobId: job.id, result });
      if (result.notNow) throw result.notNow;
      // A slot below full duty (yielding to a co-tenant) rests after its job, before BullMQ hands
      // it the next: the job holds no token by now (they are committed), the queue's next job
      // waits where another worker can take it, and the slot counts as busy meanwhile.
      const rest = lanes[lane].restAfter(result.durationMs);
      // a drain (even one before the rest) ends it at once
      if (rest > 0) await sleep(rest, undefined, { signal: deps.draining }).catch(() => undefined);
      return {
        scored: result.scored,
        skipped: result.skipped,
        failed: result.failed,
        deferred: result.deferred,
        durationMs: result.durationMs,
      };
    } catch (err) {
      throw await apply(err, lane, job, token, scored);
    } finally {
      lanes[lane].active--;
    }
  };
}
