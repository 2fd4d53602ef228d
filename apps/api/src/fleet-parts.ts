import { Queue } from "bullmq";
import { createSampler } from "@moonfleet/adaptive";
import type { LiveConfig } from "@moonfleet/config";
import { LANES, QUEUE_NAMES, bullPrefix, keyRoot, type Redis } from "@moonfleet/queues";
import { RateBudget } from "@moonfleet/upstream";

/** What the api reads the fleet through: the lanes' queues, the shared budget, its own sampler. */
export function openFleetParts(redis: Redis, live: LiveConfig) {
  const prefix = live.config.redisKeyPrefix;
  const queues = Object.fromEntries(
    LANES.map((lane) => [
      lane,
      new Queue(QUEUE_NAMES[lane], { connection: redis, prefix: bullPrefix(prefix) }),
    ]),
  ) as Record<"hot" | "cold", Queue>;
  // A Queue re-emits its connection's errors; with no listener BullMQ prints each stack trace raw.
  for (const q of Object.values(queues)) q.on("error", () => undefined);
  // Read-only here: the api only looks at the bucket (use()), it never takes permits.
  const budget = new RateBudget(redis, `${keyRoot(prefix)}:budget:${live.config.upstreamBudgetKey}`, () => {
    const c = live.config;
    return {
      rpm: c.upstreamRpm,
      burst: c.upstreamBurst,
      hotReserve: c.upstreamHotReserve,
      penaltyFactor: c.upstreamPenaltyFactor,
      penaltyMs: c.upstreamPenaltyMs,
    };
  });
  const sampler = createSampler();
  return {
    queues,
    budget,
    sampler,
    async close() {
      sampler.close();
      await Promise.all(LANES.map((l) => queues[l].close()));
    },
  };
}
