import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { bullPrefix, type BatchJob } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
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

const LEASE_MS = 4_000;
const TTL_COLD_S = 3;
const prefix = uniquePrefix();
const env = {
  REDIS_URL: redisUrl(),
  REDIS_KEY_PREFIX: prefix,
  PRODUCER_TICK_MS: "100",
  LEASE_MS: String(LEASE_MS),
  CACHE_TTL_COLD: String(TTL_COLD_S),
  CACHE_TTL_HOT: "3",
  DUE_MARGIN_MS: "0",
  SHUTDOWN_TIMEOUT_MS: "1000",
};
const redis = testRedis();
const store = new TokenStore(redis, prefix);
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

describe("a worker killed in the middle of a batch", () => {
  it("loses no token: every token of the batch is scored again within the lease plus its TTL", async () => {
    // Slow upstream so the batch is surely in flight when the worker dies.
    const { sim, url } = await startSimulator({ latencyMs: 1_500 });
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
      60_000,
      100,
    );
    const elapsed = Date.now() - killedAt;
    // The bound of the acceptance: lease + TTL (plus the slow upstream's latency for the refetch and a second of slack).
    expect(elapsed).toBeLessThanOrEqual(LEASE_MS + TTL_COLD_S * 1_000 + 1_500 + 1_000);
  });
});
