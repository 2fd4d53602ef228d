import { type BreakerState, keyRoot, LANES } from "@moonfleet/domain";
import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import { afterAll, describe, expect, it } from "vitest";
import { ttlMs } from "@moonfleet/config";
import { QUEUE_NAMES, bullPrefix, type BatchJob } from "@moonfleet/queues";
import { TokenStore, liveWorkers } from "@moonfleet/store";
import { UpstreamSchemaError, type UpstreamError } from "@moonfleet/upstream";
import { createSimulator, demoMints, type SimulatorSettingsPatch } from "../../apps/simulator/src/index.js";
import { RETRY_DELAY_MS, createBatchProcessor } from "../../apps/worker/src/batch-processor.js";
import {
  redisUrl,
  runTestProducer,
  startSimulator,
  testConfig,
  testGateway,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// The fleet through upstream trouble: a 429 storm, an outage, malformed answers and hanging
// requests. Whatever the upstream does, no job ends failed and every token is scored again.
const redis = testRedis("upstream-faults");
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

/** Runs `fn` every `everyMs` in the background; the returned stop waits for the last run and rethrows its error. */
function every(everyMs: number, fn: () => Promise<void> | void): () => Promise<void> {
  let running = true;
  let failure: Error | null = null;
  const loop = (async () => {
    while (running) {
      try {
        await fn();
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        return;
      }
      await sleep(everyMs);
    }
  })();
  return async () => {
    running = false;
    await loop;
    if (failure) throw failure;
  };
}

/** A simulator, the producer in this process, `tokens` registered mints and both lanes' queues. */
async function fleet(name: string, env: Record<string, string>, tokens: number, sim: SimulatorSettingsPatch) {
  const prefix = uniquePrefix();
  const started = await startSimulator(sim);
  cleanup.push(() => started.sim.close());
  const fullEnv = {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    UPSTREAM_URL: started.url,
    PRODUCER_TICK_MS: "200",
    DUE_MARGIN_MS: "0",
    SHUTDOWN_TIMEOUT_MS: "1000",
    ...env,
  };
  const { stop: stopProducer } = runTestProducer(fullEnv);
  cleanup.push(stopProducer);
  const store = new TokenStore(redis, prefix);
  const mints = demoMints(tokens, `${name}-${prefix}`);
  await store.register(
    mints.map((mint) => ({ mint })),
    Date.now(),
  );
  const queues = LANES.map(
    (lane) => new Queue<BatchJob>(QUEUE_NAMES[lane], { connection: redis, prefix: bullPrefix(prefix) }),
  );
  cleanup.push(() => Promise.all(queues.map((q) => q.close())));
  return { prefix, sim: started.sim, url: started.url, env: fullEnv, store, mints, queues };
}

/** True once every mint has a snapshot fetched after `t`. */
async function scoredAfter(store: TokenStore, mints: readonly string[], t: number): Promise<boolean> {
  const loaded = await store.load(mints);
  return loaded.every((x) => (x?.snapshot?.fetchedAt ?? 0) > t);
}

/** Watches the failed-job count of both queues; the stop returns the highest count seen. */
function watchFailedJobs(queues: readonly Queue[]): () => Promise<number> {
  let worst = 0;
  const check = async () => {
    for (const q of queues) worst = Math.max(worst, (await q.getJobCounts("failed")).failed ?? 0);
  };
  const stop = every(200, check);
  return async () => {
    await stop();
    await check();
    return worst;
  };
}

/** The complete JSON log lines of a process output with the given `event`. */
function logLines(output: string, event: string): Array<Record<string, unknown>> {
  return output
    .split("\n")
    .slice(0, -1) // the last piece is empty or a line still being written
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("the fleet through upstream faults", () => {
  it("a 429 storm pauses every worker, delays the jobs that hit it and fails none", async () => {
    const TOKENS = 300;
    const TTL_S = 2;
    const f = await fleet(
      "storm",
      {
        // The budget is far above the simulator's limit of 5 calls per 4 s: the 429s are what bite.
        UPSTREAM_RPM: "6000",
        UPSTREAM_BURST: "50",
        // Longer than any Retry-After here: a call waits out a pause in place, so the only jobs
        // delayed through BullMQ are the ones that met a 429.
        UPSTREAM_MAX_WAIT_MS: "10000",
        CACHE_TTL_HOT: String(TTL_S),
        CACHE_TTL_COLD: String(TTL_S),
      },
      TOKENS,
      { rateLimitRpm: 5, rateLimitWindowMs: 4_000, latencyMs: 20 },
    );
    const workers: AppProcess[] = [0, 1].map(() => runApp("worker", { ...f.env, LOG_LEVEL: "info" }));
    for (const w of workers) cleanup.push(() => stopApp(w));
    const stopFailed = watchFailedJobs(f.queues);

    // Every 25 ms: the simulator's request count and the budget's pause as Redis holds it.
    const budgetKey = `${keyRoot(f.prefix)}:budget:default`;
    const samples: Array<{ t: number; requests: number; pausedUntil: number; penaltyAt: number }> = [];
    const stopSampling = every(25, async () => {
      const [pausedUntil, penaltyAt] = await redis.hmget(budgetKey, "pausedUntil", "penaltyAt");
      samples.push({
        t: Date.now(),
        requests: f.sim.stats().requests,
        pausedUntil: Number(pausedUntil ?? 0),
        penaltyAt: Number(penaltyAt ?? 0),
      });
    });
    // Both queues' BullMQ rate limits, read together: how often either held, how often only one.
    const held = { any: 0, one: 0 };
    const stopLimiterWatch = every(50, async () => {
      const tx = redis.multi();
      for (const q of f.queues) tx.pttl(q.keys.limiter!);
      const ttls = ((await tx.exec()) ?? []).map(([, v]) => Number(v));
      const n = ttls.filter((ms) => ms > 0).length;
      if (n > 0) held.any++;
      if (n === 1) held.one++;
    });

    await sleep(15_000);
    const stormOver = Date.now();
    f.sim.settings.update({ rateLimitRpm: 0 });
    await stopSampling();
    await stopLimiterWatch();
    const stats = f.sim.stats();
    const heartbeats = await liveWorkers(redis, f.prefix, Date.now(), 5_000);

    // The jobs that met a 429 went back to wait with their tokens: all are scored once it stops.
    await waitUntil(
      "every token scored after the storm",
      () => scoredAfter(f.store, f.mints, stormOver),
      60_000,
      250,
    );
    const worstFailed = await stopFailed();

    // Each pause runs from a 429 (penaltyAt) to Retry-After later (pausedUntil).
    const pauses = samples
      .filter((s) => s.pausedUntil > s.t)
      .map((s) => ({ from: s.penaltyAt, to: s.pausedUntil }));
    // Calls granted just before a 429 landed may still reach the simulator: skip that first moment.
    const GRACE_MS = 250;
    let pausedMs = 0;
    let pausedRequests = 0;
    for (let i = 1; i < samples.length; i++) {
      const a = samples[i - 1]!;
      const b = samples[i]!;
      if (pauses.some((p) => a.t >= p.from + GRACE_MS && b.t <= p.to)) {
        pausedMs += b.t - a.t;
        pausedRequests += b.requests - a.requests;
      }
    }

    expect(stats.rateLimited).toBeGreaterThan(0);
    expect(stats.byStatus["429"]).toBe(stats.rateLimited);
    expect(pausedMs).toBeGreaterThan(2_000);
    // Demand is at least TOKENS / TTL_S / 30 = 5 calls/s (one full call per 30 due tokens, and the
    // backlog only grows in a storm). A fleet that kept calling through a pause would show that
    // rate; a paused one only stragglers. A tenth of demand holds with room and still fails if any
    // worker ignored the pause.
    const demandPerSecond = TOKENS / TTL_S / 30;
    expect(pausedRequests).toBeLessThanOrEqual((pausedMs / 1000) * (demandPerSecond / 10));
    // Both worker processes were held by the fleet's pause, not only the one that met a 429.
    expect(heartbeats).toHaveLength(2);
    for (const hb of heartbeats)
      expect(hb.lanes.hot.budgetWaits + hb.lanes.cold.budgetWaits).toBeGreaterThan(0);
    // A 429 rate-limits both queues at once (two SETs, so allow a sample caught between them).
    expect(held.any).toBeGreaterThan(0);
    expect(held.one).toBeLessThanOrEqual(Math.max(2, held.any / 10));
    // The jobs that met a 429 were delayed ("not now"), not failed, in either queue.
    const delayed = workers.flatMap((w) =>
      logLines(w.output(), "api_call").filter((l) => l.msg === "job delayed: upstream says not now"),
    );
    expect(delayed.length).toBeGreaterThan(0);
    expect(delayed.every((l) => l.rateLimited === true)).toBe(true);
    expect(worstFailed).toBe(0);
  });

  it("a 30 s outage opens the breaker, which closes once the upstream is back; every token is scored again", async () => {
    const TTL_S = 3;
    const COOLDOWN_MS = 3_000;
    const OUTAGE_MS = 30_000;
    const f = await fleet(
      "outage",
      {
        CACHE_TTL_HOT: String(TTL_S),
        CACHE_TTL_COLD: String(TTL_S),
        BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
        // The budget is not what this test is about.
        UPSTREAM_RPM: "100000",
        UPSTREAM_BURST: "100",
      },
      120,
      { latencyMs: 20 },
    );
    const worker = runApp("worker", { ...f.env, LOG_LEVEL: "info" });
    cleanup.push(() => stopApp(worker));
    await waitUntil("every token scored once", () => scoredAfter(f.store, f.mints, 0), 30_000, 100);
    const stopFailed = watchFailedJobs(f.queues);
    // Every change of the breaker's state, from the worker's `circuit_breaker` log lines.
    const changes = () =>
      logLines(worker.output(), "circuit_breaker").map((l) => ({
        t: Date.parse(String(l.time)),
        from: l.from as BreakerState,
        to: l.to as BreakerState,
      }));
    expect(changes()).toEqual([]);

    f.sim.settings.update({ outage: true });
    await sleep(OUTAGE_MS);
    const outageEnd = Date.now();
    f.sim.settings.update({ outage: false });

    await waitUntil("the breaker to close", () => changes().at(-1)?.to === "closed", 30_000, 50);
    await waitUntil(
      "every token scored after the outage",
      () => scoredAfter(f.store, f.mints, outageEnd),
      60_000,
      100,
    );
    const recoveredIn = Date.now() - outageEnd;
    const worstFailed = await stopFailed();

    const all = changes();
    const during = all.filter((c) => c.t <= outageEnd);
    const after = all.filter((c) => c.t > outageEnd);
    // Open during the outage, probing after each cool-down and opening again on the failed trial,
    // never closed while the upstream was down ...
    expect(during[0]).toMatchObject({ from: "closed", to: "open" });
    expect(during.filter((c) => c.to === "half_open").length).toBeGreaterThanOrEqual(2);
    expect(during.map((c) => c.to)).not.toContain("closed");
    expect(f.sim.stats().byStatus["503"]).toBeGreaterThan(0);
    // ... and closed by its trial calls once the upstream was back.
    expect(after.at(-1)).toMatchObject({ from: "half_open", to: "closed" });
    // Jobs were delayed, not burned, and every token came back: within its TTL after the breaker's
    // last cool-down, with generous slack for the queued backlog.
    expect(worstFailed).toBe(0);
    expect(recoveredIn).toBeLessThanOrEqual(TTL_S * 1000 + COOLDOWN_MS + 15_000);
  });

  it("a malformed answer fails its tokens with an error naming the problem, keeps their snapshots and waits a TTL", async () => {
    // Own simulator, to choose the malformed body: a roll below 0.5 truncates the JSON, else a wrong shape.
    let roll = 0.1;
    const sim = createSimulator({
      settings: { latencyMs: 0, jitterMs: 0, rateLimitRpm: 0 },
      random: () => roll,
    });
    const { url } = await sim.listen(0, "127.0.0.1");
    cleanup.push(() => sim.close());
    const prefix = uniquePrefix();
    const config = testConfig({ REDIS_KEY_PREFIX: prefix });
    const store = new TokenStore(redis, prefix);
    let clock = Date.now();
    const upstream = testGateway(url, { now: () => clock });
    cleanup.push(() => upstream.close());
    const failures: UpstreamError[] = [];
    const processBatch = createBatchProcessor({
      config: () => config,
      store,
      gateway: upstream.gateway,
      now: () => clock,
      onFailure: (_lane, _mints, err) => failures.push(err),
    });
    const mints = demoMints(45, `malformed-${prefix}`);
    await store.register(
      mints.map((mint) => ({ mint, createdAt: clock - 3_600_000 })),
      clock - 1_000,
    );
    const first = await processBatch({ lane: "cold", mints, claimedAt: clock });
    expect(first.scored).toBe(45);

    // Everything a scored token has in Redis: snapshot, history and record, byte for byte.
    const k = store.keys;
    const stored = () =>
      Promise.all(
        mints.map(async (m) => ({
          snapshot: await redis.get(k.snapshot(m)),
          history: await redis.lrange(k.history(m), 0, -1),
          token: await redis.hgetall(k.token(m)),
        })),
      );
    const lanes = async () => {
      const byLane = { hot: [] as string[], cold: [] as string[] };
      for (const m of mints)
        for (const lane of LANES) if ((await redis.zscore(k.due(lane), m)) !== null) byLane[lane].push(m);
      return byLane;
    };
    const before = await stored();
    const byLane = await lanes();
    expect(byLane.hot.length + byLane.cold.length).toBe(45);

    sim.settings.update({ malformedRate: 1 });
    const cases = [
      { roll: 0.1, problem: /answer is not valid JSON \(\d+ bytes, starts "\[\{/ },
      { roll: 0.9, problem: /answer does not match the Pair schema: 0\.dexId/ },
    ];
    for (const c of cases) {
      roll = c.roll;
      clock += 5_000;
      failures.length = 0;
      for (const lane of LANES) {
        if (byLane[lane].length === 0) continue;
        const result = await processBatch({ lane, mints: byLane[lane], claimedAt: clock });
        expect(result).toMatchObject({ scored: 0, skipped: 0, failed: byLane[lane].length, delayMs: null });
        // Not retried at once, nor left to the lease: due again one TTL (less the margin) ahead.
        const due = clock + ttlMs(config, lane) - config.dueMarginMs;
        expect(due).toBeGreaterThan(clock + RETRY_DELAY_MS);
        for (const m of byLane[lane]) expect(await redis.zscore(k.due(lane), m)).toBe(String(due));
      }
      expect(failures.length).toBeGreaterThan(0);
      for (const err of failures) {
        expect(err).toBeInstanceOf(UpstreamSchemaError);
        expect(err.message).toMatch(c.problem);
      }
      expect(await stored()).toEqual(before);
    }
    // a hot job may carry cold tokens (cold's earliest deadlines complete its call): each token
    // waits its own lane's TTL, in its own lane's schedule
    expect(byLane.cold.length).toBeGreaterThan(0);
    clock += 5_000;
    const mixed = await processBatch({ lane: "hot", mints, claimedAt: clock });
    expect(mixed).toMatchObject({ scored: 0, failed: mints.length });
    for (const lane of LANES)
      for (const m of byLane[lane])
        expect(await redis.zscore(k.due(lane), m)).toBe(
          String(clock + ttlMs(config, lane) - config.dueMarginMs),
        );
    expect(await stored()).toEqual(before);
    expect(sim.stats().malformed).toBeGreaterThan(0);
  });

  it("cuts requests that hang at the lane's timeout and loses no token", async () => {
    const f = await fleet(
      "hang",
      {
        // The controller's timeout for the cold lane, held fixed.
        ENABLE_DYNAMIC_TIMEOUTS: "false",
        TIMEOUT_COLD: "1.5",
        CACHE_TTL_COLD: "3",
        // The breaker is not what this test is about: it would stop the calls after five timeouts.
        BREAKER_FAILURE_THRESHOLD: "1000",
        UPSTREAM_RPM: "100000",
        UPSTREAM_BURST: "100",
      },
      60,
      { hangRate: 1, hangMs: 60_000 },
    );
    const worker = runApp("worker", { ...f.env, LOG_LEVEL: "info" });
    cleanup.push(() => stopApp(worker));
    const stopFailed = watchFailedJobs(f.queues);

    // A hung request is held for 60 s and then dropped: an UpstreamTimeoutError naming 1500 ms
    // can only come from the worker cutting it at the lane's timeout.
    const timeouts = await waitUntil(
      "timeout log lines",
      () => {
        const lines = logLines(worker.output(), "timeout");
        return lines.length >= 3 ? lines : null;
      },
      30_000,
      100,
    );
    for (const line of timeouts)
      expect(line).toMatchObject({
        lane: "cold",
        kind: "UpstreamTimeoutError",
        err: "upstream did not answer within 1500 ms",
      });
    expect(f.sim.stats().hung).toBeGreaterThanOrEqual(3);
    // 1500 ms is the lane's timeout as the worker's controller holds it (fixed: dynamic timeouts off).
    const [hb] = await liveWorkers(redis, f.prefix, Date.now(), 5_000);
    expect(hb?.lanes.cold).toMatchObject({ timeoutMs: 1_500, timeoutReason: "fixed" });
    expect(hb!.lanes.cold.timeouts).toBeGreaterThan(0);

    const fixedAt = Date.now();
    f.sim.settings.update({ hangRate: 0 });
    await waitUntil("every token scored", () => scoredAfter(f.store, f.mints, fixedAt), 30_000, 100);
    expect(await stopFailed()).toBe(0);
  });
});
