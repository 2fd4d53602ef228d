import { afterAll, describe, expect, it } from "vitest";
import { batchJobName, openLaneQueues } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import { startWorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  publishedCounter,
  redisUrl,
  silentLogger,
  startSimulator,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// A running worker's hedged calls, as the exports change under it.
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

describe("a worker's hedged calls", () => {
  it("hedges a call whose token entered the exports after its job was loaded", async () => {
    const prefix = uniquePrefix();
    // every call hangs until the token has entered the exports
    const { sim, url } = await startSimulator({ hangRate: 1, hangMs: 60_000 });
    cleanup.push(() => sim.close());
    const store = new TokenStore(redis, prefix);
    const [mint] = demoMints(1, `entry-${prefix}`);
    await store.register([{ mint: mint! }], Date.now());
    const env = { REDIS_KEY_PREFIX: prefix, CONTROLLER_INTERVAL_MS: "250", UPSTREAM_RPM: "100000" };
    const worker = startWorkerProcess({
      resolved: testResolved(env),
      redisUrl: redisUrl(),
      upstreamUrl: url,
      logger: silentLogger(),
    });
    cleanup.push(() => worker.stop(1_000));
    await worker.ready;
    const queues = openLaneQueues(redis, prefix);
    cleanup.push(() => Promise.all([queues.hot.close(), queues.cold.close()]));

    // a job for the token, as the producer enqueues one, while the exports do not hold it
    const claimedAt = Date.now();
    await queues.cold.add(batchJobName("cold", 1), {
      lane: "cold",
      mints: [mint!],
      claimedAt,
      leaseUntil: claimedAt + 30_000,
    });
    await waitUntil("its call to hang", () => sim.stats().hung === 1 || null, 10_000, 10);
    // the token enters the exports now, after its job was loaded; the upstream answers again
    await store.publishSchedule({ hot: 1, cold: 1 }, [mint!]);
    sim.settings.update({ hangRate: 0 });

    // a hedge went beside the hung call (at half the 1.5 s timeout: no latency is known yet) and
    // answered it, before the hung call's timeout and retry
    const told = await waitUntil(
      "the worker's metrics to count the hedge",
      async () => {
        const h = await publishedCounter(
          redis,
          prefix,
          [worker.id],
          "moonfleet_upstream_hedges_total",
          "event",
        );
        return (h.won ?? 0) > 0 ? h : null;
      },
      10_000,
      100,
    );
    expect(told).toMatchObject({ sent: 1, won: 1 });
    expect(sim.stats().hung).toBe(1);
    expect((await store.get(mint!))?.snapshot).toBeTruthy();
    expect(worker.lanes.cold.state().timeouts).toBe(0);
  });
});
