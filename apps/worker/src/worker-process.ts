import { LANES, type BreakerState, type Lane } from "@moonfleet/domain";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { DelayedError, Worker } from "bullmq";
import { LiveConfig, lanePolicies, type ResolvedConfig } from "@moonfleet/config";
import {
  QUEUE_NAMES,
  batchJobSchema,
  bullPrefix,
  createRedis,
  openLaneQueues,
  type BatchJob,
  type BatchResult,
} from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { TokenStore, removeHeartbeat } from "@moonfleet/store";
import { EVENTS, LogThrottle, createWorkerMetrics, type Logger } from "@moonfleet/telemetry";
import {
  CircuitBreaker,
  RateBudget,
  UpstreamTimeoutError,
  createPairsGateway,
  createUpstreamClient,
} from "@moonfleet/upstream";
import type { Sampler } from "@moonfleet/adaptive";
import { createBatchProcessor } from "./batch-processor.js";
import { createController } from "./controller-loop.js";
import { LaneController } from "./lane-controller.js";
import { WorkerStats } from "./worker-stats.js";

/** Redis refuses writes: maxmemory reached with the noeviction policy. */
const isRedisOutOfMemory = (err: unknown): boolean => err instanceof Error && /^OOM\b/.test(err.message);
/** A batch that met a Redis out of memory waits this long (and keeps its attempts) before it runs again. */
export const OOM_RETRY_DELAY_MS = 5_000;
/** Repeated worker, job and controller errors: one line per kind per interval, with a count. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/** Longest a queue holds its jobs for an upstream "not now" before a job asks the budget again. */
export const NOT_NOW_RECHECK_MS = 5_000;

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
 */
export function startWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const id = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const prefix = opts.resolved.config.redisKeyPrefix;
  const redis = createRedis(opts.redisUrl, { name: "worker-store" });
  const blocking = createRedis(opts.redisUrl, { name: "worker-queue", blocking: true });
  const live = new LiveConfig(opts.resolved, { redis, prefix }, (err) =>
    logger.warn({ event: EVENTS.configChange, err: String(err) }, "runtime config not applied"),
  );
  const store = new TokenStore(redis, prefix);
  const upstream = createUpstreamClient({
    baseUrl: opts.upstreamUrl,
    connections: opts.resolved.config.upstreamConnections,
  });
  const stats = new WorkerStats();
  const inflight = new AbortController();
  const background = new AbortController();
  const lanes: Record<Lane, LaneController> = {
    hot: new LaneController(lanePolicies(live.config).hot, now()),
    cold: new LaneController(lanePolicies(live.config).cold, now()),
  };

  // The upstream's protection: one budget for the fleet (in Redis), a breaker for this process.
  const budget = RateBudget.forFleet(redis, prefix, () => live.config);
  const fallbackBudget = RateBudget.forFallbacks(redis, prefix, () => live.config);
  const breaker = new CircuitBreaker(
    () => {
      const c = live.config;
      return {
        failureThreshold: c.breakerFailureThreshold,
        cooldownMs: c.breakerCooldownMs,
        halfOpenCalls: c.breakerHalfOpenCalls,
        closeAfter: c.breakerCloseAfter,
      };
    },
    now,
    (to: BreakerState, from: BreakerState, why: string) =>
      logger[to === "open" ? "warn" : "info"](
        { event: EVENTS.circuitBreaker, from, to, why },
        `circuit breaker ${to}`,
      ),
  );
  const metrics = createWorkerMetrics(id);
  const fallbackWanted = new Set<string>();
  const hadPairs = new Set<string>();
  const gateway = createPairsGateway({
    client: upstream,
    budget,
    breaker,
    settings: () => ({
      retries: live.config.upstreamRetries,
      maxWaitMs: live.config.upstreamMaxWaitMs,
      coalesceMs: live.config.upstreamCoalesceMs,
    }),
    timeoutFor: (lane) => lanes[lane].timeout,
    signal: inflight.signal,
    wantsFallback: (mint) => fallbackWanted.has(mint),
    hadPairs: (mint) => hadPairs.has(mint),
    fallbackBudget,
    onPairsRejected: (lane, kind, rejected) =>
      logger.warn(
        {
          event: EVENTS.apiCall,
          lane,
          kind,
          rejectedPairs: rejected.length,
          pairs: rejected.slice(0, 10).map((r) => ({ mint: r.mint, field: r.field, error: r.message })),
        },
        "upstream pairs failed validation: dropped",
      ),
    onPauseCapped: (lane, retryAfterMs, pausedForMs) =>
      logger.warn(
        { event: EVENTS.apiCall, lane, retryAfterMs, pausedForMs },
        "upstream Retry-After over UPSTREAM_MAX_PAUSE_MS: pause capped",
      ),
    onCall: (lane, ms, outcome) => {
      lanes[lane].recordCall(ms, outcome);
      metrics.upstream.observe({ lane, outcome }, ms / 1000);
    },
    onBudgetWait: (lane) => {
      lanes[lane].recordBudgetWait();
      metrics.budgetWaits.inc({ lane });
    },
    now,
  });

  // Redis at maxmemory makes every write fail many times a second: one line per kind of error per
  // interval, carrying how many like it were held back, instead of a line per failure.
  type Held = { fields: Record<string, unknown>; msg: string; level: "warn" | "error" };
  const throttle = new LogThrottle<Held>(ERROR_LOG_INTERVAL_MS, now);
  function logError(
    key: string,
    fields: Record<string, unknown>,
    msg: string,
    level: Held["level"] = "error",
  ) {
    const repeated = throttle.admit(key, { fields, msg, level });
    if (repeated === null) return;
    logger[level]({ ...fields, ...(repeated > 0 ? { repeated } : {}) }, msg);
  }
  function flushHeldErrors(): void {
    for (const { held, last } of throttle.drain())
      logger[last.level]({ ...last.fields, repeated: held }, `${last.msg} (repeated)`);
  }

  const processBatch = createBatchProcessor({
    config: () => live.config,
    store,
    gateway,
    now,
    fallbackWanted,
    hadPairs,
    onFailure: (lane, mints, err) => {
      const event = err instanceof UpstreamTimeoutError ? EVENTS.timeout : EVENTS.apiCall;
      const fields = { event, lane, mints, err: err.message, kind: err.name };
      // The fleet's budget lives in Redis: out of memory, every call fails alike, many a second.
      if (isRedisOutOfMemory(err)) logError(`call_oom:${lane}`, fields, "upstream call failed", "warn");
      else logger.warn(fields, "upstream call failed");
    },
  });

  const queues = openLaneQueues(redis, prefix);

  const make = (lane: Lane) => {
    const worker = new Worker<BatchJob, BatchResult>(
      QUEUE_NAMES[lane],
      async (job, token) => {
        const data = batchJobSchema.parse(job.data);
        lanes[lane].active++;
        try {
          const result = await processBatch(data).catch(async (err: unknown) => {
            // Out of memory is Redis's state, not the batch's fault: the job waits and keeps its
            // attempts instead of failing for good. Moving it is allowed then (the move frees its lock first).
            if (!isRedisOutOfMemory(err) || !token) throw err;
            await job.moveToDelayed(now() + OOM_RETRY_DELAY_MS, token);
            logError(
              `job_delayed_oom:${lane}`,
              { event: EVENTS.apiCall, lane, delayMs: OOM_RETRY_DELAY_MS },
              "job delayed: Redis is out of memory",
              "warn",
            );
            throw new DelayedError();
          });
          stats.record(lane, result);
          lanes[lane].recordJob(result.durationMs, result.scored, result.failed);
          metrics.jobs.observe({ lane }, result.durationMs / 1000);
          metrics.tokens.inc({ lane, outcome: "scored" }, result.scored);
          metrics.tokens.inc({ lane, outcome: "failed" }, result.failed);
          metrics.tokens.inc({ lane, outcome: "skipped" }, result.skipped);
          if (result.delayMs !== null) {
            // BullMQ's rate limit: the queue (both after a 429) stops handing out jobs fleet-wide,
            // and this job goes back to wait with its attempts intact. The budget itself enforces
            // a pause, so the queue only holds for a recheck interval: a pause an admin clears
            // (DELETE /admin/budget/pause) ends for the fleet within seconds, not a minute.
            const delay = Math.max(100, Math.min(result.delayMs, NOT_NOW_RECHECK_MS));
            await Promise.all((result.rateLimited ? LANES : [lane]).map((l) => queues[l].rateLimit(delay)));
            logger.info(
              {
                event: EVENTS.apiCall,
                lane,
                jobId: job.id,
                delayMs: delay,
                rateLimited: result.rateLimited,
                scored: result.scored,
              },
              "job delayed: upstream says not now",
            );
            throw Worker.RateLimitError();
          }
          logger.debug(
            {
              event:
                lanePolicies(live.config)[lane].kind === "optimized"
                  ? EVENTS.optimizedGroupProcessing
                  : EVENTS.processingTime,
              lane,
              jobId: job.id,
              ...result,
            },
            "batch done",
          );
          return result;
        } finally {
          lanes[lane].active--;
        }
      },
      {
        connection: blocking,
        prefix: bullPrefix(prefix),
        concurrency: lanes[lane].limit,
        lockDuration: 30_000,
        stalledInterval: 15_000,
        maxStalledCount: 3,
        autorun: true,
      },
    );
    worker.on("error", (err) =>
      logError(`worker_error:${lane}:${err.message}`, { lane, err: err.message }, "worker error"),
    );
    worker.on("failed", (job, err) =>
      logError(`job_failed:${lane}:${err.message}`, { lane, jobId: job?.id, err: err.message }, "job failed"),
    );
    return worker;
  };
  const workers = { hot: make("hot"), cold: make("cold") };

  const controller = createController({
    id,
    live,
    redis,
    workers,
    queues,
    lanes,
    logger,
    now,
    breakerState: () => breaker.state,
    metrics,
    ...(opts.sampler ? { sampler: opts.sampler } : {}),
  });
  live.onChange(() => controller.clampNow());

  const onTickError = (err: unknown) =>
    logError(
      `controller:${String(err)}`,
      { event: EVENTS.concurrencyChange, err: String(err) },
      "controller tick failed",
      "warn",
    );
  const ready = live.start().then(() => controller.tick().catch(onTickError));
  const controlling = ready.then(() =>
    runLoop(() => controller.tick(), {
      intervalMs: () => live.config.controllerIntervalMs,
      signal: background.signal,
      onError: onTickError,
    }),
  );

  const flushing = runLoop(() => flushHeldErrors(), {
    intervalMs: ERROR_LOG_INTERVAL_MS,
    signal: background.signal,
  });

  const summary = runLoop(
    () => {
      const s = stats.take();
      if (s.hot.jobs + s.cold.jobs === 0) return;
      logger.info({ event: EVENTS.tokensPerSecond, ...s }, "throughput");
      for (const lane of LANES) {
        if (s[lane].jobs === 0) continue;
        logger.info(
          {
            event: EVENTS.parallelBatch,
            lane,
            concurrency: workers[lane].concurrency,
            mode: lanePolicies(live.config)[lane].fetch,
            timeoutMs: lanes[lane].timeout,
            jobs: s[lane].jobs,
            avgJobMs: s[lane].avgJobMs,
            level: controller.level(),
          },
          "lane summary",
        );
        logger.info(
          {
            event: EVENTS.processingTime,
            lane,
            jobs: s[lane].jobs,
            avgJobMs: s[lane].avgJobMs,
            maxJobMs: s[lane].maxJobMs,
            tokens: s[lane].tokens,
          },
          "processing time",
        );
      }
    },
    { intervalMs: opts.summaryIntervalMs ?? 10_000, signal: background.signal },
  );

  return {
    id,
    live,
    workers,
    lanes,
    breaker,
    budget,
    ready,
    async stop(timeoutMs) {
      const closing = Promise.all([workers.hot.close(), workers.cold.close()]);
      const timer = setTimeout(() => inflight.abort(new Error("shutdown deadline")), timeoutMs);
      await closing;
      clearTimeout(timer);
      background.abort();
      await Promise.all([summary, controlling, flushing]);
      flushHeldErrors();
      controller.close();
      await removeHeartbeat(redis, prefix, id).catch(() => undefined);
      await Promise.all(LANES.map((l) => queues[l].close()));
      await live.stop();
      await upstream.close();
      await Promise.all([redis.quit(), blocking.quit()]).catch(() => undefined);
    },
  };
}
