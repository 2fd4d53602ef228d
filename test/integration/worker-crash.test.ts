import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, type BatchJob } from "@moonfleet/queues";
import { TokenStore, liveWorkers } from "@moonfleet/store";
import { clientNames, heartbeatTtlMs, redisKeys } from "@moonfleet/domain";
import { goneWorkers } from "../../apps/producer/src/lost-jobs.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import {
  redisUrl,
  runTestProducer,
  startSimulator,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

const TTL_COLD_S = 3;
const UPSTREAM_LATENCY_MS = 1_500;
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

/**
 * Registers 60 cold tokens, starts a producer and a worker against a slow upstream, SIGKILLs the
 * worker while a batch is in flight, starts another, and returns how long after the kill every
 * token of the killed batch was scored again.
 */
async function killMidBatch(leaseMs: number, extraEnv: Record<string, string> = {}): Promise<number> {
  const prefix = uniquePrefix();
  const store = new TokenStore(redis, prefix);
  const env = {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    PRODUCER_TICK_MS: "100",
    LEASE_MS: String(leaseMs),
    CACHE_TTL_COLD: String(TTL_COLD_S),
    CACHE_TTL_HOT: "3",
    DUE_MARGIN_MS: "0",
    SHUTDOWN_TIMEOUT_MS: "1000",
    ...extraEnv,
  };
  // Slow upstream so the batch is surely in flight when the worker dies.
  const { sim, url } = await startSimulator({ latencyMs: UPSTREAM_LATENCY_MS });
  cleanup.push(() => sim.close());
  const { stop: stopProducer } = runTestProducer(env);
  cleanup.push(stopProducer);

  const mints = demoMints(60, `crash-${prefix}`);
  await store.register(
    mints.map((mint) => ({ mint })),
    Date.now(),
  );

  const workerEnv = { ...env, UPSTREAM_URL: url };
  const victim: AppProcess = runApp("worker", workerEnv);
  cleanup.push(() => stopApp(victim));
  const queue = new Queue<BatchJob>("cold", { connection: redis, prefix: bullPrefix(prefix) });
  cleanup.push(() => queue.close());

  const active = await waitUntil(
    "a batch in flight",
    async () => {
      const jobs = await queue.getActive();
      return jobs.length > 0 ? jobs : null;
    },
    20_000,
    50,
  );
  const batch = active.flatMap((j) => j.data.mints);
  expect(batch.length).toBeGreaterThan(0);
  const before = await store.load(batch);
  expect(before.every((x) => x?.snapshot === null)).toBe(true); // not scored yet: the kill lands mid-batch

  victim.child.kill("SIGKILL");
  const killedAt = Date.now();
  await victim.exited;
  const survivor = runApp("worker", workerEnv);
  cleanup.push(() => stopApp(survivor));

  await waitUntil(
    "every token of the killed batch scored again",
    async () => {
      const loaded = await store.load(batch);
      return loaded.every((x) => (x?.snapshot?.fetchedAt ?? 0) > killedAt);
    },
    leaseMs + 60_000,
    100,
  );
  return Date.now() - killedAt;
}

describe("a worker killed in the middle of a batch", () => {
  it("loses no token: every token of the batch is scored again within the lease plus its TTL", async () => {
    const leaseMs = 4_000;
    const elapsed = await killMidBatch(leaseMs);
    // The bound of the acceptance: lease + TTL (plus the slow upstream's latency for the refetch and a second of slack).
    expect(elapsed).toBeLessThanOrEqual(leaseMs + TTL_COLD_S * 1_000 + UPSTREAM_LATENCY_MS + 1_000);
  });

  it("hands the dead worker's tokens back within seconds, long before a 60 s lease ends", async () => {
    const leaseMs = 60_000;
    const elapsed = await killMidBatch(leaseMs);
    // The killed worker's connections close at once; the sweep looks once a second and watches a
    // gone process's jobs for 5 s (two reconnect attempts and a second), then a claim and a 1.5 s
    // call: ~7 s (~10 s when only the heartbeat's expiry told), a third of the lease at most (with
    // the sweep off, BullMQ's stalled check brought them back after 32 s).
    console.info(`killed batch scored again ${elapsed} ms after the kill (lease ${leaseMs} ms)`);
    expect(elapsed).toBeLessThan(leaseMs / 3);
  }, 150_000);

  it("hands them back once its connections close, before its heartbeat expires", async () => {
    // CONTROLLER_INTERVAL_MS 4000: the heartbeat lives 20 s and a holder no heartbeat lists is
    // watched for 10 s, so by the heartbeat alone the tokens would come back ~30 s after the kill.
    // The killed process's named connections close at once: the sweep sees it gone within a
    // second, watches 10 s (half the heartbeat's TTL, longer than two reconnects), and the
    // survivor refetches (~12-13 s).
    const elapsed = await killMidBatch(60_000, { CONTROLLER_INTERVAL_MS: "4000" });
    console.info(`killed batch scored again ${elapsed} ms after the kill (heartbeat TTL 20 s)`);
    expect(elapsed).toBeLessThan(20_000);
  }, 150_000);
});

describe("a live worker", () => {
  it("names in its heartbeat the connection CLIENT LIST shows, so the producer never reads it as gone", async () => {
    const prefix = uniquePrefix();
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const worker = runApp("worker", { REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: prefix, UPSTREAM_URL: url });
    cleanup.push(() => stopApp(worker));
    const [hb] = await waitUntil(
      "a heartbeat that names its connection",
      async () => {
        const beats = await liveWorkers(redis, prefix, Date.now(), heartbeatTtlMs(1_000));
        return beats.length > 0 && beats[0]!.connection ? beats : null;
      },
      20_000,
      100,
    );
    const names = clientNames(String(await redis.call("CLIENT", "LIST", "TYPE", "normal")));
    expect(names.has(hb!.connection!)).toBe(true);
    expect(goneWorkers(names, [hb!], redis.options.connectionName)).toEqual(new Set());
    // and once it is killed, it is
    worker.child.kill("SIGKILL");
    await worker.exited;
    await waitUntil(
      "the killed worker's connection gone from CLIENT LIST",
      async () => {
        const after = clientNames(String(await redis.call("CLIENT", "LIST", "TYPE", "normal")));
        return goneWorkers(after, [hb!], redis.options.connectionName).has(hb!.id) || null;
      },
      5_000,
      50,
    );
  }, 60_000);
});

describe("TokenStore.releaseLeased", () => {
  it("makes due now only the tokens still at their job's lease end, and only while the job is active with the lock read", async () => {
    const prefix = uniquePrefix();
    const store = new TokenStore(redis, prefix);
    const k = redisKeys(prefix);
    const t0 = Date.now();
    const [a, b, c] = ["a", "b", "c"].map((m) => `${m}-${prefix}`) as [string, string, string];
    await store.register(
      [a, b, c].map((mint) => ({ mint })),
      t0,
    );
    const claimed = await store.claimDue("cold", t0, 10_000, 3);
    expect(claimed.sort()).toEqual([a, b, c].sort());
    const leaseUntil = t0 + 10_000;
    await store.reschedule([b], t0 + 123); // fetched (or claimed again) since
    // the job as BullMQ keeps it: its id in the active list, its lock
    const job = {
      id: "7",
      activeKey: `${k.queues}:cold:active`,
      lockKey: `${k.queues}:cold:7:lock`,
      lock: "dead:1",
    };
    const tokens = [
      { mint: a, leaseUntil },
      { mint: b, leaseUntil },
      { mint: c, leaseUntil: leaseUntil - 1 }, // another claim's lease
      { mint: "not-registered", leaseUntil },
    ];
    // not (or no longer) active: nothing
    expect(await store.releaseLeased(job, tokens, t0 + 1)).toBe(0);
    await redis.rpush(job.activeKey, "6", "7");
    await redis.set(job.lockKey, "live:3"); // taken again since the lock was read
    expect(await store.releaseLeased(job, tokens, t0 + 1)).toBe(0);
    expect(Number(await redis.zscore(k.due("cold"), a))).toBe(leaseUntil);

    await redis.set(job.lockKey, "dead:1");
    expect(await store.releaseLeased(job, tokens, t0 + 1)).toBe(1);
    expect(Number(await redis.zscore(k.due("cold"), a))).toBe(t0 + 1);
    // schedules only move in: the lanes claim left this deadline at the registration, t0
    expect(Number(await redis.zscore(k.deadline("cold"), a))).toBe(t0);
    expect(Number(await redis.zscore(k.due("cold"), b))).toBe(t0 + 123);
    expect(Number(await redis.zscore(k.due("cold"), c))).toBe(leaseUntil);
    expect(await redis.zscore(k.due("cold"), "not-registered")).toBeNull();
    expect(await redis.zscore(k.due("hot"), a)).toBeNull(); // no lane it was not in

    // a lock that ran out reads as none
    await redis.del(job.lockKey);
    await store.reschedule([c], leaseUntil);
    expect(
      await store.releaseLeased({ ...job, lock: null }, [...tokens, { mint: c, leaseUntil }], t0 + 2),
    ).toBe(1);
    expect(Number(await redis.zscore(k.due("cold"), c))).toBe(t0 + 2);
  });

  it("hands back and reschedules each token in the lane that schedules it, whatever the job's lane", async () => {
    const prefix = uniquePrefix();
    const store = new TokenStore(redis, prefix);
    const k = redisKeys(prefix);
    const t0 = Date.now();
    const leaseUntil = t0 + 10_000;
    // a hot job that carries a cold token (cold's earliest deadlines complete hot's last call)
    const [h, c] = ["h", "c"].map((m) => `${m}-${prefix}`) as [string, string];
    await redis
      .multi()
      .zadd(k.due("hot"), leaseUntil, h)
      .zadd(k.deadline("hot"), leaseUntil + 60_000, h)
      .zadd(k.due("cold"), leaseUntil, c)
      .zadd(k.deadline("cold"), leaseUntil + 120_000, c)
      .exec();
    const job = {
      id: "9",
      activeKey: `${k.queues}:hot:active`,
      lockKey: `${k.queues}:hot:9:lock`,
      lock: null,
    };
    await redis.rpush(job.activeKey, "9");
    const tokens = [h, c].map((mint) => ({ mint, leaseUntil }));
    expect(await store.releaseLeased(job, tokens, t0 + 5)).toBe(2);
    for (const [lane, mint] of [
      ["hot", h],
      ["cold", c],
    ] as const) {
      expect(Number(await redis.zscore(k.due(lane), mint))).toBe(t0 + 5);
      expect(Number(await redis.zscore(k.deadline(lane), mint))).toBe(t0 + 5);
    }
    // in no other lane
    expect(await redis.zscore(k.due("cold"), h)).toBeNull();
    expect(await redis.zscore(k.due("hot"), c)).toBeNull();

    // a failed fetch puts each back in its own lane too
    await store.reschedule([h, c], t0 + 777);
    expect(Number(await redis.zscore(k.due("hot"), h))).toBe(t0 + 777);
    expect(Number(await redis.zscore(k.deadline("cold"), c))).toBe(t0 + 777);
    expect(await redis.zscore(k.deadline("hot"), c)).toBeNull();
    expect(await redis.zscore(k.due("cold"), h)).toBeNull();
  });
});
