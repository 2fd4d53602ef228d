import { LANES, type Lane, type LoadLevel } from "@moonfleet/domain";
import type { Worker } from "bullmq";
import { lanePolicies, type LiveConfig } from "@moonfleet/config";
import { runLoop } from "@moonfleet/runtime";
import { EVENTS, type Logger, type WorkerMetrics } from "@moonfleet/telemetry";
import { UpstreamBudgetExhaustedError, UpstreamTimeoutError } from "@moonfleet/upstream";
import type { ErrorLog } from "./error-log.js";
import { isRedisOutOfMemory } from "./job-handler.js";
import { JobRateLimitedError } from "./job-outcome.js";
import type { LaneController } from "./lane-controller.js";
import type { WorkerEvents } from "./worker-events.js";
import { WorkerStats } from "./worker-stats.js";

export interface SummariesOptions {
  readonly events: WorkerEvents;
  readonly logger: Logger;
  readonly errors: ErrorLog;
  readonly metrics: WorkerMetrics;
  readonly live: LiveConfig;
  readonly workers: Readonly<Record<Lane, Worker>>;
  readonly lanes: Readonly<Record<Lane, LaneController>>;
  readonly level: () => LoadLevel;
  /** How often the throughput summary is logged. */
  readonly intervalMs: number;
}

/** The worker's logs and metrics: listeners on its events, and a throughput summary every interval. */
export function startSummaries(o: SummariesOptions): { stop(): Promise<void> } {
  const { events, logger, metrics } = o;
  const stats = new WorkerStats();
  const off = [
    events.on("call", ({ lane, ms, outcome }) => metrics.upstream.observe({ lane, outcome }, ms / 1000)),
    events.on("budgetWait", ({ lane }) => metrics.budgetWaits.inc({ lane })),
    events.on("hedge", ({ lane, event }) => {
      metrics.hedges.inc({ lane, event });
      stats.hedge(lane, event);
    }),
    events.on("pairsRejected", ({ lane, kind, rejected }) =>
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
    ),
    events.on("pauseCapped", ({ lane, retryAfterMs, pausedForMs }) =>
      logger.warn(
        { event: EVENTS.apiCall, lane, retryAfterMs, pausedForMs },
        "upstream Retry-After over UPSTREAM_MAX_PAUSE_MS: pause capped",
      ),
    ),
    events.on("breaker", ({ from, to, why }) =>
      logger[to === "open" ? "warn" : "info"](
        { event: EVENTS.circuitBreaker, from, to, why },
        `circuit breaker ${to}`,
      ),
    ),
    events.on("callFailed", ({ lane, mints, err }) => {
      const event = err instanceof UpstreamTimeoutError ? EVENTS.timeout : EVENTS.apiCall;
      const fields = { event, lane, mints, err: err.message, kind: err.name };
      // The fleet's budget lives in Redis: out of memory, every call fails alike, many a second.
      if (isRedisOutOfMemory(err)) o.errors.log(`call_oom:${lane}`, fields, "upstream call failed", "warn");
      // Waiting for the fleet's request budget is the budget doing its job: pacing, not a fault.
      else if (err instanceof UpstreamBudgetExhaustedError)
        logger.debug(fields, "waiting for the request budget");
      else logger.warn(fields, "upstream call failed");
    }),
    events.on("batch", ({ lane, jobId, result }) => {
      stats.record(lane, result);
      metrics.jobs.observe({ lane }, result.durationMs / 1000);
      metrics.tokens.inc({ lane, outcome: "scored" }, result.scored);
      metrics.tokens.inc({ lane, outcome: "failed" }, result.failed);
      metrics.tokens.inc({ lane, outcome: "deferred" }, result.deferred);
      metrics.tokens.inc({ lane, outcome: "skipped" }, result.skipped);
      if (result.notNow === null)
        logger.debug(
          {
            event:
              lanePolicies(o.live.config)[lane].kind === "optimized"
                ? EVENTS.optimizedGroupProcessing
                : EVENTS.processingTime,
            lane,
            jobId,
            ...result,
          },
          "batch done",
        );
    }),
    events.on("deferred", ({ lane, jobId, outcome, delayMs, scored }) => {
      if (outcome instanceof JobRateLimitedError || outcome.why === "circuit_open")
        logger.info(
          {
            event: EVENTS.apiCall,
            lane,
            jobId,
            delayMs,
            rateLimited: outcome instanceof JobRateLimitedError && outcome.cause429,
            outcome: outcome.name,
            scored,
          },
          "job delayed: upstream says not now",
        );
      else
        o.errors.log(
          `job_delayed_oom:${lane}`,
          { event: EVENTS.apiCall, lane, delayMs },
          "job delayed: Redis is out of memory",
          "warn",
        );
    }),
  ];

  const stopping = new AbortController();
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
            concurrency: o.workers[lane].concurrency,
            mode: lanePolicies(o.live.config)[lane].fetch,
            timeoutMs: o.lanes[lane].timeout,
            jobs: s[lane].jobs,
            avgJobMs: s[lane].avgJobMs,
            level: o.level(),
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
    { intervalMs: o.intervalMs, signal: stopping.signal },
  );

  return {
    async stop() {
      stopping.abort();
      await summary;
      for (const f of off) f();
    },
  };
}
