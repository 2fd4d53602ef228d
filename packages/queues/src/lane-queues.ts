import { Queue } from "bullmq";
import { LANES, type Lane } from "@moonfleet/domain";
import type { Redis } from "./connection.js";
import { QUEUE_NAMES, bullPrefix } from "./names.js";
import { Script } from "./script.js";

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
 * The earliest `urgentAt` (BatchJob: when a job was to start at the latest) among a queue's jobs
 * not done yet: the next QUEUED_SCAN to be taken from the wait list (its right end; a job a worker
 * hands back for the budget goes back there) and the QUEUED_SCAN longest taken. KEYS: wait list,
 * active list; ARGV: the queue's job key prefix, QUEUED_SCAN. False when none of them has one.
 * It runs every producer tick, so it reads the one field out of each job's JSON with a pattern
 * instead of decoding the whole payload (30-150 mints): urgentAt is a top-level number, and no
 * other field of a BatchJob can hold the text `"urgentAt":` (mints are base58).
 */
const EARLIEST_URGENT = new Script(`
local limit = tonumber(ARGV[2])
local earliest = false
for i = 1, 2 do
  for _, id in ipairs(redis.call('LRANGE', KEYS[i], -limit, -1)) do
    local data = redis.call('HGET', ARGV[1] .. id, 'data')
    local at = data and tonumber(string.match(data, '"urgentAt":(%-?[%d%.eE%+%-]+)'))
    if at and (not earliest or at < earliest) then earliest = at end
  end
end
if earliest then return string.format('%.0f', earliest) end
return false
`);

/** Jobs at each end of a queue the producer looks at for their urgentAt (value claims queue few). */
const QUEUED_SCAN = 50;

/**
 * The earliest time one of `queue`'s jobs not done yet was to start at the latest (BatchJob.urgentAt),
 * epoch ms; null when none says.
 */
export async function earliestQueuedUrgentAt(redis: Redis, queue: Queue): Promise<number | null> {
  const at = await EARLIEST_URGENT.run(redis, 2, [
    queue.toKey("wait"),
    queue.toKey("active"),
    queue.toKey(""),
    QUEUED_SCAN,
  ]);
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
