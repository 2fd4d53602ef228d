import { LANES, workerConnectionName, type Lane } from "@moonfleet/domain";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Worker } from "bullmq";
import { LiveConfig, lanePolicies, type ResolvedConfig } from "@moonfleet/config";
import {
  batchJobSchema,
  createRedis,
  leasedTokens,
  openLaneQueues,
  type BatchJob,
  type BatchResult,
} from "@moonfleet/queues";
import { TokenStore, removeHeartbeat } from "@moonfleet/store";
import { EVENTS, createWorkerMetrics, redisLogging, type Logger } from "@moonfleet/telemetry";
import type { CircuitBreaker, RateBudget } from "@moonfleet/upstream";
import type { Sampler } from "@moonfleet/adaptive";
import { createBatchProcessor } from "./batch-processor.js";
import { holdJobsWhileBreakerOpen } from "./breaker-hold.js";
import { createController, startControlLoop } from "./controller-loop.js";
import { startErrorLog } from "./error-log.js";
import { createJobHandler } from "./job-handler.js";
import { LaneController } from "./lane-controller.js";
import { closeLaneWorkers, runLaneWorkers, startLaneWorkers } from "./lane-workers.js";
import { stopInOrder } from "./shutdown.js";
import { shareTimeoutBursts } from "./timeout-bursts.js";
import { startSummaries } from "./summaries.js";
import { startUpstreamParts } from "./upstream-parts.js";
import { WorkerEvents } from "./worker-events.js";

export { OOM_RETRY_DELAY_MS } from "./job-handler.js";
export { NOT_NOW_RECHECK_MS } from "./job-outcome.js";

export interface WorkerProcessOptions {
  readonly resolved: ResolvedConfig;
  readonly redisUrl: string;
  readonly upstreamUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often the throughput summary is logged. */
  readonly summaryIntervalMs?: number;
  /** A sampler to use instead of the machine's (tests). */
  readonly sampler?: Sampler;
}

export interface WorkerProcess {
  readonly id: string;
  readonly live: LiveConfig;
  readonly workers: Readonly<Record<Lane, Worker<BatchJob, BatchResult>>>;
  readonly lanes: Readonly<Record<Lane, LaneController>>;
  readonly breaker: CircuitBreaker;
  readonly budget: RateBudget;
  /** Resolves once the runtime config is loaded and the controller has run its first tick. */
  readonly ready: Promise<void>;
  /** Stops taking jobs, lets in-flight ones finish for `timeoutMs`, then aborts them. */
  stop(timeoutMs: number): Promise<void>;
}

/**
 * One worker process: a BullMQ worker per lane sharing one upstream pool and one store, and the
 * adaptive controller that sets each lane's concurrency and timeout every CONTROLLER_INTERVAL_MS.
 * This function only wires the parts in their start-up order; each part decides for itself.
 */
export function startWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const prefix = opts.resolved.config.redisKeyPrefix;
  // the heartbeat's connection carries the process's id: the producer reads a killed process as
  // gone once it has closed (lost-jobs.ts)
  const redis = createRedis(opts.redisUrl, {
    name: workerConnectionName(id),
    ...redisLogging(logger, opts.redisUrl, "worker-store"),
  });
  const blocking = createRedis(opts.redisUrl, {
    name: "worker-queue",
    blocking: true,
    ...redisLogging(logger, opts.redisUrl, "worker-queue"),
  });
  const live = new LiveConfig(opts.resolved, { redis, prefix }, (err) =>
    logger.warn({ event: EVENTS.configChange, err: String(err) }, "runtime config not applied"),
  );
  const events = new WorkerEvents();
  const errors = startErrorLog(logger, now);
  const metrics = createWorkerMetrics(id);

  // Each lane's controller state, fed by the upstream's calls and the jobs' results.
  const policies = lanePolicies(live.config);
  const lanes = {
    hot: new LaneController(policies.hot, now()),
    cold: new LaneController(policies.cold, now()),
  };
  const bursts = shareTimeoutBursts({
    redis,
    prefix,
    id,
    lanes,
    onError: (err) =>
      errors.log(
        "timeout-bursts",
        { event: EVENTS.timeoutChange, err: String(err) },
        "timeout bursts not shared",
        "warn",
      ),
  });
  // A timeout, or a call running out of its timeout, that raised one lane's timeout raises the
  // other's (the same upstream answers both) and the other workers' (through Redis).
  const spreadRaise = (lane: Lane, before: number) => {
    if (lanes[lane].timeout <= before) return;
    for (const other of LANES) if (other !== lane) lanes[other].followBurst(lanes[lane].timeout);
    bursts.raised(lanes[lane].timeout);
  };
  events.on("call", ({ lane, ms, outcome }) => {
    const before = lanes[lane].timeout;
    lanes[lane].recordCall(ms, outcome);
    if (outcome === "timeout") spreadRaise(lane, before);
  });
  events.on("overrun", ({ lane, ms }) => {
    const before = lanes[lane].timeout;
    lanes[lane].recordOverrun(ms);
    spreadRaise(lane, before);
  });
  events.on("budgetWait", ({ lane }) => lanes[lane].recordBudgetWait());

  const store = new TokenStore(redis, prefix);
  const upstream = startUpstreamParts({
    live,
    redis,
    prefix,
    baseUrl: opts.upstreamUrl,
    connections: opts.resolved.config.upstreamConnections,
    timeoutFor: (lane) => lanes[lane].timeout,
    hedgeAfterFor: (lane) => lanes[lane].hedgeAfterMs,
    exportedNow: (mints) => store.anyExported(mints),
    events,
    now,
  });
  const processBatch = createBatchProcessor({
    config: () => live.config,
    store,
    gateway: upstream.gateway,
    now,
    fallbackWanted: upstream.fallbackWanted,
    hadPairs: upstream.hadPairs,
    urgentAt: upstream.urgentAt,
    exported: upstream.exported,
    onFailure: (lane, mints, err) => events.emit("callFailed", { lane, mints, err }),
  });
  const queues = openLaneQueues(redis, prefix);
  // holdingJobs is asked only by jobs, which run once the workers below are made and hold is set
  // a drain for shutdown ends a resting slot's rest (job-handler.ts)
  const draining = new AbortController();
  const handler = createJobHandler({
    processBatch,
    lanes,
    queues,
    events,
    now,
    holdingJobs: () => hold.holding(),
    draining: draining.signal,
  });
  const workers = startLaneWorkers({
    name: id,
    handler,
    connection: blocking,
    prefix,
    concurrency: (lane) => lanes[lane].limit,
    errors,
    // a payload that is not a batch (failed for good at once) holds no tokens
    handBack: (data) => {
      const job = batchJobSchema.safeParse(data);
      return job.success
        ? store.releaseFailed(leasedTokens(job.data, live.config.leaseMs), now())
        : Promise.resolve(0);
    },
  });
  const hold = holdJobsWhileBreakerOpen({
    events,
    workers,
    cooldownMs: () => live.config.breakerCooldownMs,
    errors,
  });

  const controller = createController({
    id,
    live,
    redis,
    workers,
    queues,
    lanes,
    logger,
    now,
    breakerState: () => upstream.breaker.state,
    connectionQueue: () => upstream.takeConnectionQueue(),
    metrics,
    ...(opts.sampler ? { sampler: opts.sampler } : {}),
  });
  const control = startControlLoop(controller, live, errors);
  // jobs only after the first heartbeat (published or tried): it names this process's job holders
  void control.ready.then(() => runLaneWorkers(workers, errors));
  const summaries = startSummaries({
    events,
    logger,
    errors,
    metrics,
    live,
    workers,
    lanes,
    level: () => controller.level(),
    intervalMs: opts.summaryIntervalMs ?? 10_000,
  });

  return {
    id,
    live,
    workers,
    lanes,
    breaker: upstream.breaker,
    budget: upstream.budget,
    ready: control.ready,
    stop: (timeoutMs) =>
      stopInOrder({
        drain: () => {
          draining.abort();
          return closeLaneWorkers(workers);
        },
        timeoutMs,
        onDeadline: () => upstream.abort(new Error("shutdown deadline")),
        steps: [
          { name: "breaker hold", run: () => hold.stop() },
          { name: "summaries", run: () => summaries.stop() },
          { name: "controller", run: () => control.stop() },
          { name: "error log", run: () => errors.stop() },
          { name: "heartbeat", run: () => removeHeartbeat(redis, prefix, id).catch(() => undefined) },
          { name: "queues", run: () => Promise.all(LANES.map((l) => queues[l].close())) },
          { name: "runtime config", run: () => live.stop() },
          { name: "timeout bursts", run: () => bursts.close() },
          { name: "upstream", run: () => upstream.close() },
          {
            name: "redis",
            run: () => Promise.all([redis.quit(), blocking.quit()]).catch(() => undefined),
          },
        ],
      }),
  };
}
