import { redisKeys, type PerLane } from "@moonfleet/domain";

/** The BullMQ queue of each lane. */
export const QUEUE_NAMES: PerLane<string> = { hot: "hot", cold: "cold" };

/** BullMQ's `prefix` option for our queues. */
export const bullPrefix = (prefix: string): string => redisKeys(prefix).queues;
