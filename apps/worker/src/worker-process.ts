import { Worker } from "bullmq";
import { laneConcurrency, type Config } from "@moonfleet/config";
import {
  LANES,
  QUEUE_NAMES,
  batchJobSchema,
  bullPrefix,
  createRedis,
  type BatchJob,
  type BatchResult,
} from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";
import { createUpstreamClient, UpstreamTimeoutError } from "@moonfleet/upstream";
import { createBatchProcessor, fetchPlan } from "./batch-processor.js";
import { WorkerStats } from "./worker-stats.js";

export interface WorkerProcessOptions {
  readonly config: Config;
  readonly redisUrl: string;
  readonly upstreamUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
  /** How often the throughput summary is logged. */
  readonly summaryIntervalMs?: number;
}

export interface WorkerProcess {
  readonly workers: Readonly<Record<"hot" | "cold", Worker<BatchJob, BatchResult>>>;
  /** Stops taking jobs, lets in-flight ones finish for `timeoutMs`, then aborts them. */
  stop(timeoutMs: number): Promise<void>;
}

/** One worker process: a BullMQ worker per lane sharing one upstream pool and one store. */
export function startWorkerProcess(opts: WorkerProcessOptions): WorkerProcess {
  const { config, logger } = opts;
  const redis = createRedis(opts.redisUrl, { name: "worker-store" });
  const blocking = createRedis(opts.redisUrl, { name: "worker-queue", blocking: true });
  const store = new TokenStore(redis, config.redisKeyPrefix);
  const upstream = createUpstreamClient({ baseUrl: opts.upstreamUrl });
  const stats = new WorkerStats();
  const inflight = new AbortController();
  const summaryStop = new AbortController();

  const processBatch = createBatchProcessor({
    config,
    store,
    upstream,
    ...(opts.now ? { now: opts.now } : {}),
    onFailure: (lane, mints, err) => {
      const event = err instanceof UpstreamTimeoutError ? EVENTS.timeout : EVENTS.apiCall;
      logger.warn({ event, lane, mints, err: err.message, kind: err.name }, "upstream call failed");
    },
  });

  const make = (lane: "hot" | "cold") => {
    const worker = new Worker<BatchJob, BatchResult>(
      QUEUE_NAMES[lane],
      async (job) => {
        const data = batchJobSchema.parse(job.data);
        const result = await processBatch(data, inflight.signal);
        stats.record(lane, result);
        logger.debug(
          {
            event: config.enableSchedulerOptimization
              ? EVENTS.optimizedGroupProcessing
              : EVENTS.processingTime,
            lane,
            jobId: job.id,
            ...result,
          },
          "batch done",
        );
        return result;
      },
      {
        connection: blocking,
        prefix: bullPrefix(config.redisKeyPrefix),
        concurrency: laneConcurrency(config, lane),
        lockDuration: 30_000,
        stalledInterval: 15_000,
        maxStalledCount: 3,
        autorun: true,
      },
    );
    worker.on("error", (err) => logger.error({ lane, err: err.message }, "worker error"));
    worker.on("failed", (job, err) => logger.error({ lane, jobId: job?.id, err: err.message }, "job failed"));
    return worker;
  };
  const workers = { hot: make("hot"), cold: make("cold") };

  const interval = opts.summaryIntervalMs ?? 10_000;
  const summary = runLoop(
    () => {
      const s = stats.take();
      if (s.hot.jobs + s.cold.jobs === 0) return;
      logger.info({ event: EVENTS.tokensPerSecond, ...s }, "throughput");
      for (const lane of LANES) {
        const plan = fetchPlan(config, lane);
        if (s[lane].jobs > 0)
          logger.info(
            {
              event: EVENTS.parallelBatch,
              lane,
              concurrency: workers[lane].concurrency,
              ...plan,
              jobs: s[lane].jobs,
              avgJobMs: s[lane].avgJobMs,
            },
            "lane summary",
          );
      }
    },
    { intervalMs: interval, signal: summaryStop.signal },
  );

  return {
    workers,
    async stop(timeoutMs) {
      const closing = Promise.all([workers.hot.close(), workers.cold.close()]);
      const timer = setTimeout(() => inflight.abort(new Error("shutdown deadline")), timeoutMs);
      await closing;
      clearTimeout(timer);
      summaryStop.abort();
      await summary;
      await upstream.close();
      await Promise.all([redis.quit(), blocking.quit()]).catch(() => undefined);
    },
  };
}
