import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { batchSize, type Config } from "@moonfleet/config";
import { LANES, QUEUE_NAMES, bullPrefix, createRedis, keyRoot, type BatchJob } from "@moonfleet/queues";
import { runLoop } from "@moonfleet/runtime";
import { LeaderLock, TokenStore } from "@moonfleet/store";
import { EVENTS, type Logger } from "@moonfleet/telemetry";

export interface ProducerOptions {
  readonly config: Config;
  readonly redisUrl: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface TickResult {
  readonly leader: boolean;
  readonly claimed: Record<"hot" | "cold", number>;
  readonly jobs: Record<"hot" | "cold", number>;
}

/** Jobs are retried by BullMQ only for crashes; upstream failures are rescheduled per token. */
const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: "exponential", delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 2_000 },
  removeOnFail: { age: 24 * 3_600, count: 10_000 },
} as const;

/** Claims due tokens per lane and enqueues them as batch jobs; one producer leads at a time. */
export function createProducer(opts: ProducerOptions) {
  const { config, logger } = opts;
  const now = opts.now ?? Date.now;
  const redis = createRedis(opts.redisUrl, { name: "producer" });
  const store = new TokenStore(redis, config.redisKeyPrefix);
  const queues = Object.fromEntries(
    LANES.map((lane) => [
      lane,
      new Queue<BatchJob>(QUEUE_NAMES[lane], {
        connection: redis,
        prefix: bullPrefix(config.redisKeyPrefix),
      }),
    ]),
  ) as Record<"hot" | "cold", Queue<BatchJob>>;
  const lock = new LeaderLock(
    redis,
    `${keyRoot(config.redisKeyPrefix)}:producer:leader`,
    `${process.pid}-${randomUUID()}`,
    Math.max(5_000, config.producerTickMs * 5),
  );
  let leading = false;

  async function tick(): Promise<TickResult> {
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
    if (!leader) return { leader, claimed, jobs };
    for (const lane of LANES) {
      // Backpressure: claim only what the queue can absorb, so tokens wait in the schedule (where
      // their staleness is visible) rather than as leased jobs that might outlive their lease.
      const waiting = await queues[lane].getWaitingCount();
      const room = config.maxQueuedJobs - waiting;
      if (room <= 0) continue;
      const size = batchSize(config, lane);
      const at = now();
      const mints = await store.claimDue(lane, at, config.leaseMs, room * size);
      if (mints.length === 0) continue;
      const batch = [];
      for (let i = 0; i < mints.length; i += size)
        batch.push({
          name: "batch",
          data: { lane, mints: mints.slice(i, i + size), claimedAt: at },
          opts: JOB_OPTIONS,
        });
      await queues[lane].addBulk(batch);
      claimed[lane] = mints.length;
      jobs[lane] = batch.length;
    }
    if (claimed.hot + claimed.cold > 0)
      logger.debug({ event: EVENTS.producerTick, claimed, jobs }, "enqueued");
    return { leader, claimed, jobs };
  }

  return {
    tick,
    queues,
    store,
    /** Ticks until the signal aborts, then releases the lead so another producer takes over at once. */
    async run(signal: AbortSignal): Promise<void> {
      await runLoop(async () => void (await tick()), {
        intervalMs: config.producerTickMs,
        signal,
        onError: (err) =>
          logger.error({ event: EVENTS.producerTick, err: String(err) }, "producer tick failed"),
      });
      if (leading) await lock.release().catch(() => undefined);
    },
    async close(): Promise<void> {
      await Promise.all(LANES.map((l) => queues[l].close()));
      await redis.quit().catch(() => undefined);
    },
  };
}
