import { Queue } from "bullmq";
import { LANES, type Lane } from "@moonfleet/domain";
import type { Redis } from "./connection.js";
import { QUEUE_NAMES, bullPrefix } from "./names.js";

/**
 * Entries BullMQ keeps in each queue's event stream (its default is 10,000). Nothing in moonfleet
 * reads the stream (no QueueEvents); it only serves a `QueueEvents` an operator might attach, which
 * reads live events. Each Queue writes this into the queue's meta hash, so every process must use
 * the same value: hence one constructor for all of them.
 */
export const EVENTS_MAX_LEN = 2_000;

/**
 * Finished jobs BullMQ keeps, for Bull Board and debugging: a completed job of 30 mints takes
 * ~2.5 kB of Redis, so 2,000 per queue were ~10 MB at 4,000 tokens, a third of Redis, that nothing
 * reads. Failed jobs are rare and worth more: a day of them.
 */
export const JOB_RETENTION = {
  removeOnComplete: { age: 3_600, count: 500 },
  removeOnFail: { age: 24 * 3_600, count: 10_000 },
} as const;

/** The queue of each lane, on `redis`, under the fleet's key prefix. */
export function openLaneQueues<T = unknown>(redis: Redis, prefix: string): Record<Lane, Queue<T>> {
  const queues = Object.fromEntries(
    LANES.map((lane) => [
      lane,
      new Queue<T>(QUEUE_NAMES[lane], {
        connection: redis,
        prefix: bullPrefix(prefix),
        streams: { events: { maxLen: EVENTS_MAX_LEN } },
      }),
    ]),
  ) as Record<Lane, Queue<T>>;
  // A Queue re-emits its connection's errors (callers log what fails); with no listener BullMQ
  // prints each stack trace raw, outside the JSON log.
  for (const q of Object.values(queues)) q.on("error", () => undefined);
  return queues;
}
