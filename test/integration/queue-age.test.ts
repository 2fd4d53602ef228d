import { Queue, Worker } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, oldestQueuedAt } from "@moonfleet/queues";
import { testRedis, uniquePrefix } from "../support/harness.js";

// The producer reads when the oldest job of a lane not done yet was claimed (the value claim's cold
// queue lateness, coldQueueLatenessMs): the next job a worker takes, or the longest taken one.
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("oldestQueuedAt", () => {
  it("is when the oldest job waiting or taken was added, and null once there is none", async () => {
    expect(await oldestQueuedAt(redis, queue)).toBeNull();
    const first = await queue.add("a", { n: 1 });
    await sleep(15);
    const second = await queue.add("b", { n: 2 });
    await sleep(15);
    const third = await queue.add("c", { n: 3 });
    expect(await oldestQueuedAt(redis, queue)).toBe(first.timestamp);
    // a worker takes the first: it is still the oldest not done
    const taken = await worker.getNextJob("t1");
    expect(taken?.id).toBe(first.id);
    expect(await oldestQueuedAt(redis, queue)).toBe(first.timestamp);
    await taken.moveToCompleted("ok", "t1", false);
    expect(await oldestQueuedAt(redis, queue)).toBe(second.timestamp);
    // the second taken and handed back to wait (as a job waiting for the budget is): still the oldest
    const again = await worker.getNextJob("t2");
    expect(again?.id).toBe(second.id);
    await again.moveToWait("t2");
    expect(await oldestQueuedAt(redis, queue)).toBe(second.timestamp);
    await queue.obliterate({ force: true });
    expect(await oldestQueuedAt(redis, queue)).toBeNull();
    expect(third.timestamp).toBeGreaterThan(second.timestamp);
  });
});
