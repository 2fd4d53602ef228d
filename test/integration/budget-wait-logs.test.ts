import { afterAll, describe, expect, it } from "vitest";
import { heartbeatTtlMs } from "@moonfleet/domain";
import { liveWorkers, TokenStore } from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import {
  publishedCounter,
  redisUrl,
  runTestProducer,
  startSimulator,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { runApp, stopApp } from "../support/processes.js";

// Issue 17: waiting for the fleet's request budget is the budget pacing the fleet, not a fault.
// A worker whose budget binds logs its waits at debug and never as a warning or an error.

const redis = testRedis("budget-wait-logs");
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

/** The logger writes pino's level labels. */
const LOUD = new Set(["warn", "error", "fatal"]);

describe("a worker whose request budget binds", () => {
  const prefix = uniquePrefix();
  it("logs its budget waits at debug, none as a warning or an error", async () => {
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: prefix,
      PRODUCER_TICK_MS: "100",
      CACHE_TTL_HOT: "5",
      CACHE_TTL_COLD: "5",
      // 120 tokens every 5 s need ~48 calls a minute: a budget of 12 binds at once.
      UPSTREAM_RPM: "12",
      UPSTREAM_BURST: "1",
      UPSTREAM_HOT_RESERVE: "0",
    };
    const { sim, url } = await startSimulator();
    cleanup.push(() => sim.close());
    const { stop } = runTestProducer(env);
    cleanup.push(stop);
    await new TokenStore(redis, prefix).register(
      demoMints(120, `budget-wait-${prefix}`).map((mint) => ({ mint })),
      Date.now(),
    );
    const worker = runApp("worker", { ...env, UPSTREAM_URL: url, LOG_LEVEL: "debug" });
    cleanup.push(() => stopApp(worker, 2_000));

    const lines = () =>
      worker
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { level: string; msg: string; [k: string]: unknown });
    const waits = () => lines().filter((l) => l.msg === "waiting for the request budget");
    await waitUntil("budget waits", () => waits().length >= 3, 30_000, 100);

    expect(new Set(waits().map((l) => l.level))).toEqual(new Set(["debug"]));
    const loud = lines().filter((l) => LOUD.has(l.level));
    expect(
      loud.filter((l) => /budget/i.test(JSON.stringify(l))),
      JSON.stringify(loud),
    ).toEqual([]);
    expect(sim.stats().requests).toBeGreaterThan(0);
  });

  it("counts the tokens it holds back for the budget as deferred, not failed", async () => {
    // The worker publishes its metrics with its heartbeat: read the processed-tokens counter.
    const processed = async () => {
      const workers = await liveWorkers(redis, prefix, Date.now(), heartbeatTtlMs(1_000));
      const by = await publishedCounter(
        redis,
        prefix,
        workers.map((w) => w.id),
        "moonfleet_tokens_processed_total",
        "outcome",
      );
      return { scored: by.scored ?? 0, deferred: by.deferred ?? 0, failed: by.failed ?? 0 };
    };
    const seen = await waitUntil(
      "deferred tokens in the worker's metrics",
      async () => {
        const p = await processed();
        return p.deferred > 0 && p.scored > 0 ? p : null;
      },
      30_000,
      250,
    );
    expect(seen.failed).toBe(0);
  });
});
