import { redisKeys, type Lane, LANES, type LoadLevel, type WorkerHeartbeat } from "@moonfleet/domain";
import { randomUUID } from "node:crypto";
import {
  initialBatchSizerState,
  nextBatchSize,
  type BatchSizerBounds,
  type BatchSizerState,
} from "@moonfleet/adaptive";
import { LiveConfig, lanePolicies, type BatchPolicy, type ResolvedConfig } from "@moonfleet/config";
import { JOB_RETENTION, batchJobName, createRedis, openLaneQueues, type BatchJob } from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { LeaderLock, TokenStore, liveWorkers } from "@moonfleet/store";
import { EVENTS, redisLogging, type Logger } from "@moonfleet/telemetry";

export interface ProducerOptions {
  readonly resolved: ResolvedConfig;
  readonly redisUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface TickResult {
  readonly leader: boolean;
  readonly claimed: Record<Lane, number>;
  readonly jobs: Record<Lane, number>;
  readonly batchSize: Record<Lane, number>;
}

const LEVEL_RANK: Record<string, number> = { normal: 0, reduced: 1, high: 2 };

/** The fleet as the batch sizer sees it: slots and recent job figures per lane, the worst load. */
export function fleetView(workers: readonly WorkerHeartbeat[], lane: Lane) {
  let slots = 0;
  let level: LoadLevel = "normal";
  let weightedMs = 0;
  let jobs = 0;
  let tokens = 0;
  for (const w of workers) {
    const l = w.lanes[lane];
    slots += l.concurrency;
    if ((LEVEL_RANK[w.level] ?? 0) > LEVEL_RANK[level]!) level = w.level;
    if (l.avgJobMs !== null && l.jobs > 0) {
      weightedMs += l.avgJobMs * l.jobs;
      jobs += l.jobs;
      tokens += l.tokens;
    }
  }
  return {
    fleet: { workers: workers.length, slots, level },
    avgJobMs: jobs > 0 ? weightedMs / jobs : null,
    avgJobTokens: jobs > 0 ? tokens / jobs : null,
  };
}

/** The batch sizer's bounds under the lane's batch policy. */
export function batchBounds(p: BatchPolicy): BatchSizerBounds {
  return p.kind === "adaptive"
    ? { min: p.min, max: p.max, adaptive: true, fixed: p.start }
    : { min: p.size, max: p.size, adaptive: false, fixed: p.size };
}

/** Jobs are retried by BullMQ only for crashes; upstream failures are rescheduled per token. */
const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 1_000 },
  ...JOB_RETENTION,
} as const;

const PURGE_EVERY_MS = 10_000;
const PURGE_BATCH = 1_000;

/** Claims due tokens per lane and enqueues them as batch jobs; one producer leads at a time. */
export function createProducer(opts: ProducerOptions) {
  const { logger } = opts;
  const now = opts.now ?? Date.now;
  const prefix = opts.resolved.config.redisKeyPrefix;
  const redis = createRedis(opts.redisUrl, {
    name: "producer",
    ...redisLogging(logger, opts.redisUrl, "producer"),
  });
  const store = new TokenStore(redis, prefix);
  const live = new LiveConfig(opts.resolved, { redis, prefix }, (err) =>
    logger.warn({ event: EVENTS.configChange, err: String(err) }, "runtime config not applied"),
  );
  const config = () => live.config;
  const queues = openLaneQueues<BatchJob>(redis, prefix);
  const lock = new LeaderLock(
    redis,
    redisKeys(prefix).producerLeader,
    `${process.pid}-${randomUUID()}`,
    Math.max(5_000, opts.resolved.config.producerTickMs * 5),
  );
  let leading = false;
  // Claimed tokens whose jobs were not enqueued (Redis went away between the claim and the
  // enqueue): returned to the schedule at the next tick instead of waiting out their lease.
  const unqueued: Record<Lane, string[]> = { hot: [], cold: [] };
  async function returnUnqueued(at: number): Promise<void> {
    for (const lane of LANES) {
      if (unqueued[lane].length === 0) continue;
      await store.reschedule(lane, unqueued[lane], at);
      logger.info(
        { event: EVENTS.producerTick, lane, tokens: unqueued[lane].length },
        "returned claimed tokens whose jobs were not enqueued",
      );
      unqueued[lane] = [];
    }
  }

  // The batch sizer's state lives in Redis, so a new leader (or a restart) goes on from what the
  // last one learned instead of starting over.
  const sizerKey = redisKeys(prefix).batchSizer;
  const sizers: Partial<Record<Lane, BatchSizerState>> = {};
  async function sizerState(lane: Lane): Promise<BatchSizerState> {
    const cached = sizers[lane];
    if (cached) return cached;
    const raw = await redis.get(sizerKey(lane));
    const stored = raw ? (JSON.parse(raw) as BatchSizerState) : null;
    return (sizers[lane] = stored ?? initialBatchSizerState(batchBounds(lanePolicies(config())[lane].batch)));
  }

  async function decideBatchSize(
    lane: Lane,
    at: number,
    workers: readonly WorkerHeartbeat[],
    waiting: number,
  ) {
    const c = config();
    const previous = await sizerState(lane);
    const dueNow = await store.countDue(lane, at);
    const view = fleetView(workers, lane);
    const d = nextBatchSize(
      previous,
      { dueNow, waitingJobs: waiting, ...view },
      batchBounds(lanePolicies(c)[lane].batch),
    );
    sizers[lane] = d.state;
    if (d.changed) {
      logger.info(
        {
          event: EVENTS.batchSizeChange,
          lane,
          from: previous.size,
          to: d.size,
          reason: d.reason,
          dueNow,
          waiting,
          slots: view.fleet.slots,
          level: view.fleet.level,
        },
        `batch size ${previous.size} -> ${d.size} (${d.reason})`,
      );
    }
    if (d.changed || ++persistTicks % 10 === 0) await redis.set(sizerKey(lane), JSON.stringify(d.state));
    return d.size;
  }
  let persistTicks = 0;

  // The registry stays bounded: archived tokens keep their last snapshot for
  // ARCHIVE_RETENTION_HOURS, then leave with their history and indexes (a batch per sweep).
  let lastPurge = 0;
  async function purgeArchived(at: number): Promise<void> {
    if (at - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = at;
    const purged = await store.purgeArchived(at - config().archiveRetentionHours * 3_600_000, PURGE_BATCH);
    if (purged.length > 0)
      logger.info(
        { event: EVENTS.registryPurge, tokens: purged.length },
        "deleted archived tokens past retention",
      );
  }

  async function tick(): Promise<TickResult> {
    await live.refresh().catch(() => false);
    await returnUnqueued(now());
    const leader = await lock.acquireOrRenew();
    if (leader !== leading) {
      leading = leader;
      logger.info(
        { event: EVENTS.leadership, leader },
        leader ? "took the producer lead" : "lost the producer lead",
      );
    }
    const claimed = { hot: 0, cold: 0 };
    const jobs = { hot: 0, cold: 0 };
    const batchSize = { hot: sizers.hot?.size ?? 0, cold: sizers.cold?.size ?? 0 };
    if (!leader) return { leader, claimed, jobs, batchSize };
    const c = config();
    const workers = await liveWorkers(redis, prefix, now(), Math.max(5_000, c.controllerIntervalMs * 5));
    for (const lane of LANES) {
      const at = now();
      // Backpressure: claim only what the queue can absorb, so tokens wait in the schedule (where
      // their staleness is visible) rather than as leased jobs that might outlive their lease.
      const waiting = await queues[lane].getWaitingCount();
      const size = await decideBatchSize(lane, at, workers, waiting);
      batchSize[lane] = size;
      const room = c.maxQueuedJobs - waiting;
      if (room <= 0) continue;
      // Full upstream calls: a few due tokens wait up to half the due margin for company, and the
      // last call is topped up with tokens due within the margin (legacy calls carry one mint).
      const fill = lanePolicies(c)[lane].mintsPerCall;
      const mints = await store.claimDue(lane, at, c.leaseMs, room * size, {
        ms: c.dueMarginMs,
        fill,
        holdMs: c.dueMarginMs / 2,
      });
      if (mints.length === 0) continue;
      const batch = [];
      for (let i = 0; i < mints.length; i += size)
        batch.push({
          name: batchJobName(lane, Math.min(size, mints.length - i)),
          data: { lane, mints: mints.slice(i, i + size), claimedAt: at },
          opts: JOB_OPTIONS,
        });
      try {
        await queues[lane].addBulk(batch);
      } catch (err) {
        unqueued[lane].push(...mints);
        throw err;
      }
      claimed[lane] = mints.length;
      jobs[lane] = batch.length;
    }
    if (claimed.hot + claimed.cold > 0)
      logger.debug({ event: EVENTS.producerTick, claimed, jobs }, "enqueued");
    await purgeArchived(now());
    return { leader, claimed, jobs, batchSize };
  }

  return {
    tick,
    live,
    queues,
    store,
    /** Ticks until the signal aborts, then releases the lead so another producer takes over at once. */
    async run(signal: AbortSignal): Promise<void> {
      await live.start();
      await runLoop(async () => void (await tick()), {
        intervalMs: () => config().producerTickMs,
        signal,
        onError: (err) =>
          logger.error({ event: EVENTS.producerTick, err: String(err) }, "producer tick failed"),
      });
      await returnUnqueued(now()).catch(() => undefined);
      if (leading) await lock.release().catch(() => undefined);
    },
    async close(): Promise<void> {
      await Promise.all(LANES.map((l) => queues[l].close()));
      await live.stop();
      await redis.quit().catch(() => undefined);
    },
  };
}
