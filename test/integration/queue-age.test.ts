import { Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { batchJobSchema, bullPrefix, earliestQueuedUrgentAt } from "@moonfleet/queues";
import { testRedis, uniquePrefix } from "../support/harness.js";

// The value claim reads how late cold's queue runs (coldQueueLatenessMs): the earliest urgentAt
// (when a job was to start at the latest) among the jobs waiting and the jobs taken.
const redis = testRedis("queue-age");
const prefix = uniquePrefix();
const queue = new Queue("cold", { connection: redis, prefix: bullPrefix(prefix) });
const worker = new Worker("cold", null, {
  connection: testRedis("queue-age-worker"),
  prefix: bullPrefix(prefix),
});
afterAll(async () => {
  await worker.close();
  await queue.close();
  await redis.quit();
});

const T = 1_800_000_000_000;

describe("earliestQueuedUrgentAt", () => {
  it("is the earliest urgentAt of the jobs waiting or taken, and null once none says", async () => {
    expect(await earliestQueuedUrgentAt(redis, queue)).toBeNull();
    await queue.add("lanes", { n: 0 }); // a job without one (SCHEDULING=lanes)
    expect(await earliestQueuedUrgentAt(redis, queue)).toBeNull();
    await queue.add("a", { urgentAt: T + 5_000 });
    await queue.add("b", { urgentAt: T + 2_000 }); // behind a, yet due sooner
    await queue.add("c", { urgentAt: T + 9_000 });
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 2_000);
    // taken by a worker, still not done: still counted
    const first = await worker.getNextJob("t1");
    const second = await worker.getNextJob("t2");
    const third = await worker.getNextJob("t3");
    expect(third.data).toEqual({ urgentAt: T + 2_000 });
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 2_000);
    // handed back to wait (as a job waiting for the budget is): still counted
    await third.moveToWait("t3");
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 2_000);
    // done: the next earliest
    const again = await worker.getNextJob("t4");
    await again.moveToCompleted("ok", "t4", false);
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 5_000);
    await second.moveToCompleted("ok", "t2", false);
    await first.moveToCompleted("ok", "t1", false);
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 9_000);
    await queue.obliterate({ force: true });
    expect(await earliestQueuedUrgentAt(redis, queue)).toBeNull();
  });

  it("reads urgentAt out of a whole batch job, wherever it sits among the job's fields", async () => {
    const mints = Array.from({ length: 150 }, (_, i) => `So1ana${i}Mint11111111111111111111111111`);
    const batch = (urgentAt: number) =>
      batchJobSchema.parse({ lane: "cold", mints, claimedAt: T, leaseUntil: T + 60_000, urgentAt });
    await queue.add("whole", batch(T + 7_000));
    await queue.add("first", { urgentAt: T + 6_000, lane: "cold", mints, claimedAt: T });
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 6_000);
    await queue.add("fraction", batch(T + 5_500.4));
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(T + 5_500);
    await queue.add("negative", batch(-1_000));
    expect(await earliestQueuedUrgentAt(redis, queue)).toBe(-1_000);
    await queue.obliterate({ force: true });
  });
});
