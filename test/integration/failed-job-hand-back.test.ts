import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { redisKeys } from "@moonfleet/domain";
import { QUEUE_NAMES, bullPrefix, leasedTokens, type BatchJob, type BatchResult } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { closeLaneWorkers, runLaneWorkers, startLaneWorkers } from "../../apps/worker/src/lane-workers.js";
import type { ErrorLog } from "../../apps/worker/src/error-log.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { testRedis, uniquePrefix, waitUntil } from "../support/harness.js";

// A job whose every attempt fails (all of them inside a Redis outage, say) never runs again: its
// tokens are handed back, due at once, instead of waiting out their lease. A job BullMQ will try
// again keeps them.
const redis = testRedis("hand-back");
const blocking = testRedis("hand-back-workers");
afterAll(async () => {
  await blocking.quit();
  await redis.quit();
});

const LEASE_MS = 60_000;

/** Two cold tokens registered and claimed under a fresh prefix, each leased until `leaseUntil`. */
async function twoClaimedTokens(tag: string) {
  const prefix = uniquePrefix();
  const store = new TokenStore(redis, prefix);
  const t0 = Date.now();
  const mints = demoMints(2, `${tag}-${prefix}`) as [string, string];
  await store.register(
    mints.map((mint) => ({ mint })),
    t0,
  );
  expect((await store.claimDue("cold", t0, LEASE_MS, 2)).sort()).toEqual([...mints].sort());
  return { prefix, store, k: redisKeys(prefix), t0, leaseUntil: t0 + LEASE_MS, mints };
}

describe("TokenStore.releaseFailed", () => {
  it("makes due now the tokens still at their job's lease end, in the lane that schedules each", async () => {
    const { store, k, t0, leaseUntil, mints } = await twoClaimedTokens("released");
    const [a, b] = mints;
    await store.reschedule([b], t0 + 123); // fetched (or claimed again) since
    const n = await store.releaseFailed(
      [a, b, "not-registered"].map((mint) => ({ mint, leaseUntil })),
      t0 + 5,
    );
    expect(n).toBe(1);
    expect(Number(await redis.zscore(k.due("cold"), a))).toBe(t0 + 5);
    expect(Number(await redis.zscore(k.due("cold"), b))).toBe(t0 + 123);
    expect(await redis.zscore(k.due("cold"), "not-registered")).toBeNull();
    expect(await redis.zscore(k.due("hot"), a)).toBeNull();
  });
});

describe("a lane worker whose job fails", () => {
  it("hands the job's tokens back after its last attempt, not after one BullMQ will retry", async () => {
    const { prefix, store, k, t0, leaseUntil, mints } = await twoClaimedTokens("failing");
    const [once, twice] = mints;
    const logged: string[] = [];
    const errors: ErrorLog = { log: (key) => void logged.push(key), stop: () => Promise.resolve() };
    const handedBack: string[][] = [];
    const workers = startLaneWorkers({
      name: `hand-back-${prefix}`,
      handler: () => () => Promise.reject(new Error("Redis went away")),
      connection: blocking,
      prefix,
      concurrency: () => 1,
      errors,
      handBack: async (data) => {
        const job = data as BatchJob;
        handedBack.push(job.mints);
        return store.releaseFailed(leasedTokens(job, LEASE_MS), Date.now());
      },
    });
    const queue = new Queue<BatchJob, BatchResult>(QUEUE_NAMES.cold, {
      connection: redis,
      prefix: bullPrefix(prefix),
    });
    try {
      runLaneWorkers(workers, errors);
      const data = (mint: string): BatchJob => ({ lane: "cold", mints: [mint], claimedAt: t0, leaseUntil });
      // one attempt: failed for good; two, a minute apart: failed once, tried again later
      await queue.add("once", data(once), { attempts: 1 });
      await queue.add("twice", data(twice), { attempts: 2, backoff: { type: "fixed", delay: 60_000 } });
      await waitUntil("both jobs to fail once", () => logged.length >= 2, 10_000, 20);
      await waitUntil(
        "the failed job's token due again",
        async () => Number(await redis.zscore(k.due("cold"), once)) < leaseUntil,
        5_000,
        20,
      );
      expect(handedBack).toEqual([[once]]);
      expect(Number(await redis.zscore(k.due("cold"), once))).toBeLessThanOrEqual(Date.now());
      expect(Number(await redis.zscore(k.due("cold"), twice))).toBe(leaseUntil);
    } finally {
      await closeLaneWorkers(workers);
      await queue.close();
    }
  });
});
