import { redisKeys, type Lane, type PerLane } from "@moonfleet/domain";

/** The BullMQ queue of each lane. */
export const QUEUE_NAMES: PerLane<string> = { hot: "hot", cold: "cold" };

/** BullMQ's `prefix` option for our queues. */
export const bullPrefix = (prefix: string): string => redisKeys(prefix).queues;

/** A batch job's name, as Bull Board lists it: what the job is (`hot 30 mints`), not "batch". */
export const batchJobName = (lane: Lane, mints: number): string =>
  `${lane} ${mints} ${mints === 1 ? "mint" : "mints"}`;
