import { LANES } from "@moonfleet/domain";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, QUEUE_NAMES, type BatchJob } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  redisUrl,
  runTestProducer,
  startSimulator,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { capturingLogger } from "../support/log-capture.js";

// A circuit breaker is one process's own: when it is open, that process's jobs wait on their own
// (moved to the delayed set), and the lane's queue is not rate-limited for the whole fleet.
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

describe("an open circuit breaker", () => {
  it("delays its own jobs and never rate-limits the lane's queue for the fleet", async () => {
    const prefix = uniquePrefix();
    const env = {
      REDIS_KEY_PREFIX: prefix,
      PRODUCER_TICK_MS: "100",
      CACHE_TTL_HOT: "2",
      CACHE_TTL_COLD: "2",
      DUE_MARGIN_MS: "0",
      UPSTREAM_RETRIES: "0",
      BREAKER_FAILURE_THRESHOLD: "2",
      BREAKER_COOLDOWN_MS: "60000",
      UPSTREAM_RPM: "100000",
      UPSTREAM_BURST: "100",
    };
    const { sim, url } = await startSimulator({ outage: true });
    cleanup.push(() => sim.close());
    const store = new TokenStore(redis, prefix);
    await store.register(
      demoMints(90, `breaker-${prefix}`).map((mint) => ({ mint })),
      Date.now(),
    );
    const { logger, lines } = capturingLogger();
    const worker = startWorkerProcess({
      resolved: testResolved(env),
      redisUrl: redisUrl(),
      upstreamUrl: url,
      logger,
    });
    cleanup.push(() => worker.stop(1_000));
    const { stop: stopProducer } = runTestProducer(env);
    cleanup.push(stopProducer);
    const queues = LANES.map(
      (lane) => new Queue<BatchJob>(QUEUE_NAMES[lane], { connection: redis, prefix: bullPrefix(prefix) }),
    );
    cleanup.push(() => Promise.all(queues.map((q) => q.close())));

    await waitUntil("the breaker to open", () => worker.breaker.state === "open", 30_000, 20);
    // While it stays open (a minute's cool-down), watch the queues' rate limiters and delayed sets.
    let limited = 0;
    let delayed = 0;
    const until = Date.now() + 4_000;
    while (Date.now() < until) {
      for (const q of queues) {
        if (Number(await redis.pttl(q.keys.limiter!)) > 0) limited++;
        delayed = Math.max(delayed, await q.getDelayedCount());
      }
      await sleep(25);
    }
    expect(worker.breaker.state).toBe("open");
    const notNow = lines.filter((l) => l.msg === "job delayed: upstream says not now");
    expect(notNow.length).toBeGreaterThan(0);
    expect(notNow.every((l) => l.rateLimited === false)).toBe(true);
    expect(limited).toBe(0);
    expect(delayed).toBeGreaterThan(0);
  });
});
