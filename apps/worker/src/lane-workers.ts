import { LANES, type Lane } from "@moonfleet/domain";
import { Worker } from "bullmq";
import { QUEUE_NAMES, bullPrefix, type BatchJob, type BatchResult, type Redis } from "@moonfleet/queues";
import type { ErrorLog } from "./error-log.js";
import type { BatchHandler } from "./job-handler.js";

export type LaneWorkers = Readonly<Record<Lane, Worker<BatchJob, BatchResult>>>;

/**
 * A BullMQ worker per lane on one blocking connection, at each lane's concurrency, named for the
 * process (Bull Board and a job's processedBy show which one). They take no job until
 * `runLaneWorkers`: a process takes jobs only once its heartbeat names them (jobHolders), so the
 * producer never reads a job a live worker holds as a dead worker's.
 */
export function startLaneWorkers(o: {
  /** The process's heartbeat id. */
  readonly name: string;
  readonly handler: (lane: Lane) => BatchHandler;
  readonly connection: Redis;
  readonly prefix: string;
  readonly concurrency: (lane: Lane) => number;
  readonly errors: ErrorLog;
  /**
   * Told of a job whose last attempt failed (it never runs again) to hand its tokens back, so they
   * are due at once rather than when their lease ends: all its attempts can fall inside a Redis
   * outage.
   */
  readonly handBack?: (data: unknown) => Promise<unknown>;
}): LaneWorkers {
  const make = (lane: Lane) => {
    const worker = new Worker<BatchJob, BatchResult>(QUEUE_NAMES[lane], o.handler(lane), {
      name: o.name,
      connection: o.connection,
      prefix: bullPrefix(o.prefix),
      concurrency: o.concurrency(lane),
      lockDuration: 30_000,
      stalledInterval: 15_000,
      maxStalledCount: 3,
      autorun: false,
    });
    worker.on("error", (err) =>
      o.errors.log(`worker_error:${lane}:${err.message}`, { lane, err: err.message }, "worker error"),
    );
    worker.on("failed", (job, err) => {
      o.errors.log(
        `job_failed:${lane}:${err.message}`,
        { lane, jobId: job?.id, err: err.message },
        "job failed",
      );
      // BullMQ sets finishedOn only when it will not try again
      const handBack = o.handBack;
      if (job?.finishedOn && handBack)
        Promise.resolve(job.data)
          .then(handBack)
          .catch((e: unknown) =>
            o.errors.log(
              `hand_back:${lane}:${String(e)}`,
              { lane, jobId: job.id, err: String(e) },
              "could not hand back a failed job's tokens",
            ),
          );
    });
    return worker;
  };
  return Object.fromEntries(LANES.map((lane) => [lane, make(lane)])) as Record<
    Lane,
    Worker<BatchJob, BatchResult>
  >;
}

/** Starts taking jobs (each worker's run loop goes until close; what it throws goes to the log). */
export function runLaneWorkers(workers: LaneWorkers, errors: ErrorLog): void {
  for (const lane of LANES)
    if (!workers[lane].closing && !workers[lane].isRunning())
      workers[lane]
        .run()
        .catch((err: unknown) =>
          errors.log(`worker_run:${lane}:${String(err)}`, { lane, err: String(err) }, "worker stopped"),
        );
}

/** Stops taking jobs and waits for the ones in flight. */
export async function closeLaneWorkers(workers: LaneWorkers): Promise<void> {
  await Promise.all(LANES.map((lane) => workers[lane].close()));
}
