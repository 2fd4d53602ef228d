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

/**
 * When the oldest job of a queue not done yet was added: the next to be taken (the wait list's
 * right end; a job a worker hands back for the budget goes back there) or the longest active.
 * KEYS: wait list, active list; ARGV: the queue's job key prefix. False when neither holds a job.
 */
const OLDEST_QUEUED = `
local oldest = false
for i = 1, 2 do
  local id = redis.call('LINDEX', KEYS[i], -1)
  if id then
    local at = tonumber(redis.call('HGET', ARGV[1] .. id, 'timestamp'))
    if at and (not oldest or at < oldest) then oldest = at end
  end
end
if oldest then return tostring(oldest) end
return false
`;

/** When the oldest job of `queue` not done yet was added, epoch ms; null when it holds none. */
export async function oldestQueuedAt(redis: Redis, queue: Queue): Promise<number | null> {
  const at = await redis.eval(OLDEST_QUEUED, 2, queue.toKey("wait"), queue.toKey("active"), queue.toKey(""));
  return at === null || at === undefined ? null : Number(at);
}

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
