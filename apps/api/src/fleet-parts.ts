import { LANES } from "@moonfleet/domain";
import { createSampler } from "@moonfleet/adaptive";
import type { LiveConfig } from "@moonfleet/config";
import { openLaneQueues, type Redis } from "@moonfleet/queues";
import { RateBudget } from "@moonfleet/upstream";

/** What the api reads the fleet through: the lanes' queues, the shared budget, its own sampler. */
export function openFleetParts(redis: Redis, live: LiveConfig) {
  const prefix = live.config.redisKeyPrefix;
  const queues = openLaneQueues(redis, prefix);
  // Read-only here: the api only looks at the bucket (use()), it never takes permits.
  const budget = RateBudget.forFleet(redis, prefix, () => live.config);
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
