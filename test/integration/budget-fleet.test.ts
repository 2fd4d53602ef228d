import { afterAll, describe, expect, it } from "vitest";
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

// Four worker processes share one request budget: the upstream never sees more than UPSTREAM_RPM
// calls in any 60 s window, and when demand is above the budget the scheduling decides who waits.
// SCHEDULING=lanes: hot stays within its TTL while cold waits. SCHEDULING=value: a lane's TTL is a
// target, and what holds is the guarantee, MAX_STALENESS_FACTOR x the TTL, while the budget covers
// that floor (here it needs ~16 of the 28 mints/s the bucket refills). 300 tokens at these TTLs
// want about all the budget pays for at hot's TTL and cold's floor together, so value mode lets hot
// go past its TTL (15-27 s seen) to keep cold's floor (16.0-17.5 s seen in six runs since a call
// past its start-by asks the budget first; 17.5-22.4 s while it raced calls that could wait for
// each new token, 20.1-22.6 s while a cold job took the budget as hot only at its deadline, and
// before the claim read cold's queue and a late cold job took the budget as hot, 38-63 s).
// Tightened from 4 s of slack to 2 with the first rule: the code before it passed 22 s in one of
// three runs.
const RPM = 60;
const TTL_HOT_S = 10;
const TTL_COLD_S = 5;
const MAX_STALENESS_FACTOR = 4;
/** What a staleness seen here may run past a guarantee: a claim tick, a call, a 1 s sample and a margin. */
const GUARANTEE_SLACK_S = 2;
/**
 * The guarantee holds once the budget covers the floor: 300 tokens registered at once are all due
 * together, so the first pass (~11 s at 28 mints/s) and one floor after it are left out.
 */
const SETTLE_MS = 30_000;
const redis = testRedis();
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

describe.each(["lanes", "value"] as const)("the fleet-wide request budget, SCHEDULING=%s", (scheduling) => {
  it("holds four workers to UPSTREAM_RPM in every 60 s window, without a 429, and keeps the mode's promise", async () => {
    const prefix = uniquePrefix();
    const store = new TokenStore(redis, prefix);
    // The simulator limits at twice the budget: any 429 would mean the budget leaked.
    const { sim, url } = await startSimulator({ rateLimitRpm: RPM * 2, latencyMs: 40 });
    cleanup.push(() => sim.close());
    const env = {
      REDIS_URL: redisUrl(),
      REDIS_KEY_PREFIX: prefix,
      UPSTREAM_URL: url,
      UPSTREAM_RPM: String(RPM),
      UPSTREAM_BURST: "4",
      UPSTREAM_HOT_RESERVE: "2",
      CACHE_TTL_HOT: String(TTL_HOT_S),
      CACHE_TTL_COLD: String(TTL_COLD_S),
      PRODUCER_TICK_MS: "500",
      SCHEDULING: scheduling,
      MAX_STALENESS_FACTOR: String(MAX_STALENESS_FACTOR),
    };
    const { stop: stopProducer } = runTestProducer(env);
    cleanup.push(stopProducer);
    const workers: AppProcess[] = Array.from({ length: 4 }, () => runApp("worker", env));
    for (const w of workers) cleanup.push(() => stopApp(w));

    // 300 tokens, cold every 5 s: ~60 tokens/s of demand against a budget of 30 tokens/s.
    const mints = demoMints(300, `budget-${prefix}`);
    const started = Date.now();
    await store.register(
      mints.map((mint) => ({ mint })),
      started,
    );

    let worstHotStaleness = 0;
    let worstColdStaleness = 0;
    let hotSeen = 0;
    // the guarantee once the registration's burst has passed: every token fetched once, then one floor
    const settled = { hot: 0, cold: 0 };
    await waitUntil(
      "65 s of running",
      async () => {
        const now = Date.now();
        const loaded = await store.load(mints);
        for (const x of loaded) {
          const s = x?.snapshot;
          if (!s) continue;
          const stale = (now - s.fetchedAt) / 1000;
          if (s.lane === "hot") {
            hotSeen++;
            worstHotStaleness = Math.max(worstHotStaleness, stale);
          } else if (s.lane === "cold") worstColdStaleness = Math.max(worstColdStaleness, stale);
          if (now - started > SETTLE_MS && s.lane) settled[s.lane] = Math.max(settled[s.lane], stale);
        }
        return now - started > 65_000;
      },
      90_000,
      1_000,
    );

    const perSecond = sim.stats().perSecond;
    const counts = new Map(perSecond.map((p) => [Math.round(p.t / 1000), p.n]));
    const seconds = [...counts.keys()].sort((a, b) => a - b);
    let worstWindow = 0;
    for (const s of seconds) {
      let sum = 0;
      for (let t = s; t < s + 60; t++) sum += counts.get(t) ?? 0;
      worstWindow = Math.max(worstWindow, sum);
    }
    console.info(
      `budget-fleet ${scheduling}: worst 60 s window ${worstWindow} calls (RPM ${RPM}), worst staleness hot ${worstHotStaleness} s, cold ${worstColdStaleness} s; after ${SETTLE_MS / 1000} s hot ${settled.hot} s, cold ${settled.cold} s`,
    );
    expect(sim.stats().rateLimited).toBe(0);
    expect(worstWindow).toBeLessThanOrEqual(RPM);
    // The budget was used, not left idle: the window held most of what it allows.
    expect(worstWindow).toBeGreaterThan(RPM * 0.8);
    // Demand was above the budget: cold tokens waited past their TTL ...
    expect(worstColdStaleness).toBeGreaterThan(TTL_COLD_S);
    expect(hotSeen).toBeGreaterThan(0);
    if (scheduling === "lanes") {
      // ... while hot tokens kept theirs (a claim tick and a call of slack).
      expect(worstHotStaleness).toBeLessThanOrEqual(TTL_HOT_S + 2);
    } else {
      // ... and, once the 300 tokens registered at once have settled, none went past its guarantee
      expect(settled.cold).toBeLessThanOrEqual(MAX_STALENESS_FACTOR * TTL_COLD_S + GUARANTEE_SLACK_S);
      expect(worstHotStaleness).toBeLessThanOrEqual(MAX_STALENESS_FACTOR * TTL_HOT_S + GUARANTEE_SLACK_S);
    }
  });
});
