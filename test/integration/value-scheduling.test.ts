import { afterAll, describe, expect, it } from "vitest";
import { LANE_STATUS, redisKeys, type ClaimTierKind, type Lane } from "@moonfleet/domain";
import { DEADLINE_SLACK, INTERVAL_JITTER, packCalls, updateOptimizationConfig } from "@moonfleet/config";
import { TokenStore, type Snapshot, type TokenUpdate } from "@moonfleet/store";
import { QUEUE_NAMES, bullPrefix, createRedis, type BatchJob } from "@moonfleet/queues";
import { Worker } from "bullmq";
import type { ExportDocument } from "@moonfleet/exports";
import { toSnapshot } from "../../apps/worker/src/batch-processor.js";
import { MAX_CLAIM_PER_TICK, createProducer } from "../../apps/producer/src/producer.js";
import { createExporter } from "../../apps/api/src/exporter.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { readClasses, type FleetDeps } from "../../apps/api/src/fleet-status.js";
import {
  redisUrl,
  runTestProducer,
  silentLogger,
  testConfig,
  testRedis,
  testResolved,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// SCHEDULING=value against a real Redis: the commit writes the wanted due time and the deadline,
// the claim takes urgent tokens before wanted ones and packs them first, then the most valuable, and the
// producer spends no more than the budget on a tick, urgent first; SCHEDULING=lanes (changed at
// runtime) claims as the lanes always did.
const redis = testRedis();
afterAll(async () => {
  await redis.quit();
});

const T0 = 1_900_000_000_000;

function update(
  mint: string,
  lane: Lane,
  o: { fetchedAt: number; dueAt: number; deadlineAt: number; value: number },
): TokenUpdate {
  const snapshot = {
    mint,
    name: null,
    symbol: null,
    status: LANE_STATUS[lane],
    lane,
    fetchedAt: o.fetchedAt,
    score: 0.2,
    smoothedScore: 0.2,
    band: "none",
    components: {},
    smoothed: {},
    metrics: { pairCount: 1 },
  } as unknown as Snapshot;
  return {
    snapshot,
    dueAt: o.dueAt,
    deadlineAt: o.deadlineAt,
    value: o.value,
    lastGoodScoreAt: null,
    activeSince: null,
  };
}

describe("the value schedules in Redis", () => {
  const prefix = uniquePrefix();
  const store = new TokenStore(redis, prefix);
  const k = redisKeys(prefix);

  it("claims urgent tokens first, then wanted ones, each with its value, and leases both schedules", async () => {
    const [a, b, c, d] = demoMints(4) as [string, string, string, string];
    await store.register(
      [a, b, c, d].map((mint) => ({ mint })),
      T0,
    );
    // registered: due and deadline now, in the cold lane
    expect(Number(await redis.zscore(k.deadline("cold"), a))).toBe(T0);
    await store.commit([
      update(a, "cold", { fetchedAt: T0 + 1, dueAt: T0 + 100, deadlineAt: T0 + 50_000, value: 1 }),
      update(b, "cold", { fetchedAt: T0 + 1, dueAt: T0 + 200, deadlineAt: T0 + 900, value: 0.1 }),
      update(c, "hot", { fetchedAt: T0 + 1, dueAt: T0 + 300, deadlineAt: T0 + 60_000, value: 5 }),
      update(d, "hot", { fetchedAt: T0 + 1, dueAt: T0 + 30_000, deadlineAt: T0 + 60_000, value: 9 }),
    ]);
    // a token that moved to the hot lane left the cold deadlines
    expect(await redis.zscore(k.deadline("cold"), c)).toBeNull();
    const limits = {
      budget: 10,
      room: { hot: 10, cold: 10 },
      fill: { hot: 1, cold: 1 },
      hotFirst: 0,
      hotPasses: 0,
      hotYields: false,
    };
    const o = {
      now: T0 + 1_000,
      leaseMs: 20_000,
      leadMs: { hot: 500, cold: 500 },
      lookaheadMs: 0,
      withValues: true,
      leaseDeadlineMs: { hot: 60_000, cold: 60_000 },
    };
    const step = (lane: Lane, tier: ClaimTierKind) => ({ lane, tier, hotFirst: false, topUp: false });
    // one call, the steps in order: urgent before wanted, each lane's claim apart
    const got = await store.claimPlan(
      [step("cold", "urgent"), step("hot", "urgent"), step("cold", "wanted"), step("hot", "wanted")],
      limits,
      o,
    );
    expect(got.cold).toEqual([
      { mint: b, value: 0.1, deadlineAt: T0 + 900, lane: "cold" },
      { mint: a, value: 1, deadlineAt: T0 + 50_000, lane: "cold" },
    ]);
    expect(got.hot).toEqual([{ mint: c, value: 5, deadlineAt: T0 + 60_000, lane: "hot" }]);
    // leased: due again one lease ahead (taken back if the job is lost), the deadline one more
    // lease past that, behind every real deadline, so an early claim never takes a token in flight
    for (const [lane, mint] of [
      ["cold", b],
      ["cold", a],
      ["hot", c],
    ] as const) {
      expect(Number(await redis.zscore(k.due(lane), mint))).toBe(T0 + 21_000);
      expect(Number(await redis.zscore(k.deadline(lane), mint))).toBe(T0 + 81_000);
    }
    // early: the earliest deadlines ahead, whatever their due time (d is not due)
    const early = await store.claimPlan([step("hot", "early")], { ...limits, budget: 1 }, o);
    expect(early.hot.map((t) => t.mint)).toEqual([d]);
    // a cold step into hot's jobs: it completes hot's last call (fill 3, one hot token claimed; a
    // top-up goes past the budget) with cold's earliest deadline, counted in hot, leased in cold
    await store.reschedule([b, d], T0 + 500);
    const fill = { ...limits, budget: 1, fill: { hot: 3, cold: 1 } };
    const carried = await store.claimPlan(
      [step("hot", "urgent"), { ...step("cold", "early"), topUp: true, into: "hot" }],
      fill,
      { ...o, leadMs: { hot: 60_000, cold: 0 } },
    );
    expect(carried.cold).toEqual([]);
    expect(carried.hot.map((t) => [t.mint, t.lane])).toEqual([
      [d, "hot"],
      [b, "cold"],
    ]);
    expect(Number(await redis.zscore(k.due("cold"), b))).toBe(T0 + 21_000);
    expect(await redis.zscore(k.due("hot"), b)).toBeNull();
    expect(packCalls(got.cold, 1)).toEqual([[a], [b]]);
    // ... but a token at its deadline (within the lane's lead) goes before value
    expect(packCalls(got.cold, 1, o.now + o.leadMs.cold)).toEqual([[b], [a]]);
    // a failed fetch brings a token back in both schedules; an operator's delete removes both
    await store.reschedule([a], T0 + 2_000);
    expect(Number(await redis.zscore(k.deadline("cold"), a))).toBe(T0 + 2_000);
    await store.remove(a);
    expect(await redis.zscore(k.deadline("cold"), a)).toBeNull();
  });

  it("gives an exported token EXPORT_REFRESH_S as its deadline and a volatile one an earlier due time", () => {
    const config = testConfig({ REDIS_KEY_PREFIX: prefix, SCHEDULING: "value" });
    const token = {
      mint: "M",
      name: null,
      symbol: null,
      status: "active" as const,
      createdAt: T0 - 3_600_000,
      registeredAt: T0 - 3_600_000,
      lastUpdatedAt: T0,
      fetchedAt: T0 - 10_000,
      lastGoodScoreAt: null,
      activeSince: T0 - 60_000,
      source: "api" as const,
    };
    const ctx = { pressure: { hot: 1, cold: 1 }, exported: new Set(["M"]) };
    // no pairs: the token falls back to monitoring (cold lane)
    const u = toSnapshot(token, [], null, T0, config, ctx);
    expect(u.snapshot.lane).toBe("cold");
    // the guarantee less its slack and the margin, less up to INTERVAL_JITTER of that
    const within = (v: number, hi: number) => {
      expect(v).toBeLessThanOrEqual(hi);
      expect(v).toBeGreaterThanOrEqual(hi * (1 - INTERVAL_JITTER) - 1e-6);
    };
    within(
      (u.deadlineAt ?? Number.NaN) - T0,
      config.exportRefreshS * 1000 * (1 - DEADLINE_SLACK) - config.dueMarginMs,
    );
    const quiet = toSnapshot(token, [], null, T0, config, { ...ctx, exported: new Set() });
    within(
      (quiet.deadlineAt ?? Number.NaN) - T0,
      config.maxStalenessFactor * config.cacheTtlCold * 1000 * (1 - DEADLINE_SLACK) - config.dueMarginMs,
    );
    expect(u.value).toBeGreaterThan(quiet.value ?? Infinity);
    // lanes: today's due time, whatever the value
    const lanes = toSnapshot(token, [], null, T0, { ...config, scheduling: "lanes" }, ctx);
    expect(lanes.dueAt).toBe(T0 + config.cacheTtlCold * 1000 - config.dueMarginMs);
  });
});

/** A fleet's settings under `prefix` with a budget that does not bind: a tick claims what is due, nothing early. */
const looseBudgetEnv = (prefix: string, scheduling: "value" | "lanes") => ({
  REDIS_KEY_PREFIX: prefix,
  SCHEDULING: scheduling,
  UPSTREAM_RPM: "100000",
  UPSTREAM_BURST: "1000",
});

/** An export document of `at` serving `members` (mint, when its snapshot was fetched). */
function exportDocument(at: number, members: ReadonlyArray<readonly [string, number]>): ExportDocument {
  return {
    version: 1,
    changedAt: at,
    generatedAt: at,
    members: members.map(([mint, fetchedAt]) => ({
      mint,
      symbol: null,
      name: null,
      smoothedScore: 0.9,
      band: "high",
      fetchedAt,
      maxStalenessMs: 30_000,
      since: at,
      outOfTopSince: null,
      pools: [],
    })),
    settings: {
      topN: 10,
      minScore: 0.5,
      exitScore: 0.4,
      minPoolLiquidityUsd: 0,
      poolsPerToken: 2,
      maxStalenessMs: { hot: 30_000, cold: 60_000 },
      minHoldMs: 0,
    },
    excluded: {},
    changes: {},
  };
}

/** A producer on the test's clock, closed after the file. */
function producerAt(env: Record<string, string>, now: () => number) {
  const producer = createProducer({
    resolved: testResolved(env),
    redisUrl: redisUrl(),
    logger: silentLogger(),
    now,
  });
  afterAll(async () => {
    await producer.close();
  });
  return producer;
}

describe("the producer under a budget", () => {
  const prefix = uniquePrefix();
  const env = { REDIS_KEY_PREFIX: prefix, UPSTREAM_RPM: "60", PRODUCER_TICK_MS: "1000", SCHEDULING: "value" };
  const store = new TokenStore(redis, prefix);
  let clock = T0;
  const producer = producerAt(env, () => clock);

  it("spends a tick's budget on hot's share beyond the cold floor, then cold's urgent tokens; with SCHEDULING=lanes it claims as the lanes do", async () => {
    const mints = demoMints(200);
    await store.register(
      mints.map((mint) => ({ mint })),
      T0,
    );
    // 100 valuable hot tokens wanted now but far from their deadline, 100 cold ones at their deadline
    await store.commit(
      mints.map((m, i) =>
        i < 100
          ? update(m, "hot", { fetchedAt: T0 + 1, dueAt: T0 + 2, deadlineAt: T0 + 60_000, value: 10 })
          : update(m, "cold", { fetchedAt: T0 + 1, dueAt: T0 + 2, deadlineAt: T0 + 2, value: 0.01 }),
      ),
    );
    clock = T0 + 1_000;
    const v = await producer.tick();
    expect(v.leader).toBe(true);
    // 60/min of 30 mints: 30 slots a tick, two ticks queued at most. 100 cold tokens need ~1 of
    // the 30 tokens/s the budget pays for: hot's wanted tokens may take the rest first (a whole
    // call of it), and cold's urgent ones the other call before any more hot token.
    expect(v.claimed).toEqual({ hot: 30, cold: 30 });
    // the tick's claimed slots are counted per class for the health's callShare
    const slots = await store.classSlots(clock);
    expect(slots.monitoring).toBe(30);
    // ... and the health's classes block reads them
    const deps = { store, config: () => testConfig(env) } as unknown as FleetDeps;
    const classes = await readClasses(deps, clock, { active: 100, monitoring: 100 });
    expect(classes.monitoring.callShare).toBe(0.5);
    expect(classes.active.callShare).toBe(0.5);
    expect(classes.exported.tokens).toBe(0);
    expect(classes.top50.tokens).toBe(50);
    expect(classes.top50.stalenessP95Seconds).toBeCloseTo(1, 0);
    // 100 hot tokens at one per 58 s and 100 cold ones at one per 118 s fit 30 slots a second
    expect(classes.floorCovered).toBe(true);
    const crowded = await readClasses(deps, clock, { active: 10_000, monitoring: 90_000 });
    expect(crowded.floorCovered).toBe(false);

    await updateOptimizationConfig({ scheduling: "lanes" }, { redis, prefix, base: testResolved(env) });
    clock += 1_000;
    const l = await producer.tick();
    // lanes: every due hot token (the 70 the value tick left), however many calls that takes
    expect(l.claimed.hot).toBe(70);
  });
});

describe("a token that enters the exports", () => {
  const prefix = uniquePrefix();
  const env = looseBudgetEnv(prefix, "value");
  const store = new TokenStore(redis, prefix);
  const k = redisKeys(prefix);
  let clock = T0;
  const producer = producerAt(env, () => clock);

  it("is refreshed at once when its snapshot is older than an exported token's may be", async () => {
    const [old, fresh, flying] = demoMints(3, `entry-${prefix}`) as [string, string, string];
    await store.register([{ mint: old }, { mint: fresh }, { mint: flying }], T0);
    clock = T0 + 60_000;
    await store.commit([
      update(old, "hot", {
        fetchedAt: clock - 20_000,
        dueAt: clock + 30_000,
        deadlineAt: clock + 40_000,
        value: 1,
      }),
      update(fresh, "hot", {
        fetchedAt: clock - 500,
        dueAt: clock + 30_000,
        deadlineAt: clock + 40_000,
        value: 1,
      }),
    ]);
    await producer.tick(); // the producer knows the exports before the entry (none)
    // a token in flight (claimed: due a lease ahead, its deadline a floor past that) stays as it is
    const config = testConfig(env);
    const leased = { due: clock + config.leaseMs, deadline: clock + config.leaseMs + 100_000_000 };
    await store.commit([
      update(flying, "hot", {
        fetchedAt: clock - 20_000,
        dueAt: leased.due,
        deadlineAt: leased.deadline,
        value: 1,
      }),
    ]);
    const doc = exportDocument(clock, [
      [old, clock - 20_000],
      [fresh, clock],
      [flying, clock - 20_000],
    ]);
    await redis.set(k.exportDocument, JSON.stringify(doc));
    clock += 100;
    const t = await producer.tick();
    // the old one was due at once and claimed in the same tick; the fresh one waits its interval
    expect(t.claimed.hot).toBe(1);
    expect(Number(await redis.zscore(k.due("hot"), old))).toBeGreaterThan(clock);
    expect(Number(await redis.zscore(k.due("hot"), flying))).toBe(leased.due);
    expect(Number(await redis.zscore(k.deadline("hot"), flying))).toBe(leased.deadline);
    const interval = config.exportRefreshS * 1000 * (1 - DEADLINE_SLACK) - config.dueMarginMs;
    expect(Number(await redis.zscore(k.deadline("hot"), fresh))).toBe(clock - 100 + interval);
  });

  it("holds a token at the door of the exports while its snapshot is older than EXPORT_REFRESH_S, due at once meanwhile", async () => {
    const [stale, ok] = demoMints(2, `door-${prefix}`) as [string, string];
    await store.register([{ mint: stale }, { mint: ok }], T0);
    clock = T0 + 200_000;
    const tradable = (mint: string, u: TokenUpdate): TokenUpdate => ({
      ...u,
      snapshot: {
        ...u.snapshot,
        smoothedScore: 0.9,
        metrics: {
          pools: [0, 1].map((i) => ({
            address: `${mint}-${i}`,
            dexId: "raydium",
            poolType: "raydium_clmm",
            quote: "SOL",
            liquidityUsd: 50_000,
          })),
        },
      } as unknown as Snapshot,
    });
    const plan = { dueAt: clock + 30_000, deadlineAt: clock + 40_000, value: 1 };
    await store.commit([
      tradable(stale, update(stale, "hot", { fetchedAt: clock - 20_000, ...plan })),
      tradable(ok, update(ok, "hot", { fetchedAt: clock - 1_000, ...plan })),
    ]);
    const config = testConfig({ ...env, EXPORT_MIN_SCORE: "0.5", EXPORT_EXIT_SCORE: "0.4" });
    const exporter = createExporter({
      redis,
      config: () => config,
      logger: silentLogger(),
      id: `door-${prefix}`,
      now: () => clock,
    });
    const first = await exporter.tick();
    // 20 s old: within the 2 x TTL any export allows, but older than an exported token may be
    expect(first?.state.members.map((m) => m.mint)).toEqual([ok]);
    expect(first?.held.map((h) => h.mint)).toEqual([stale]);
    expect(Number(await redis.zscore(k.due("hot"), stale))).toBe(clock);
    expect(Number(await redis.zscore(k.deadline("hot"), stale))).toBe(clock);
    expect(Number(await redis.zscore(k.due("hot"), ok))).toBe(plan.dueAt);
    // refreshed: it enters
    clock += 1_000;
    await store.commit([tradable(stale, update(stale, "hot", { fetchedAt: clock - 200, ...plan }))]);
    const second = await exporter.tick();
    expect(new Set(second?.state.members.map((m) => m.mint))).toEqual(new Set([stale, ok]));
    expect(second?.held).toEqual([]);
    // SCHEDULING=lanes: the old snapshot enters at once, as it always did
    const lanes = createExporter({
      redis,
      config: () => ({ ...config, scheduling: "lanes" }),
      logger: silentLogger(),
      id: `door-${prefix}`,
      now: () => clock,
    });
    await redis.del(k.exportDocument);
    clock += 1_000;
    await store.commit([tradable(stale, update(stale, "hot", { fetchedAt: clock - 20_000, ...plan }))]);
    const third = await lanes.tick();
    expect(third?.state.members).toHaveLength(2);
    expect(third?.held).toEqual([]);
  });
});

describe("a job carrying an exported token", () => {
  it.each([
    ["value", "goes to the head of its lane's queue, before the jobs already waiting"],
    ["lanes", "waits its turn, as the lanes always did"],
  ] as const)("SCHEDULING=%s: %s", async (scheduling, _what) => {
    const prefix = uniquePrefix();
    const env = looseBudgetEnv(prefix, scheduling);
    const store = new TokenStore(redis, prefix);
    const mints = demoMints(31, `head-${prefix}`);
    const [exported, ...plain] = mints as [string, ...string[]];
    await store.register(
      mints.map((mint) => ({ mint })),
      T0,
    );
    // the plain tokens are due at once, the one about to be exported 9 s later
    await store.commit([
      ...plain.map((m) =>
        update(m, "hot", { fetchedAt: T0, dueAt: T0 + 500, deadlineAt: T0 + 60_000, value: 1 }),
      ),
      update(exported, "hot", { fetchedAt: T0, dueAt: T0 + 10_000, deadlineAt: T0 + 60_000, value: 1 }),
    ]);
    let clock = T0 + 1_000;
    const producer = producerAt(env, () => clock);
    expect((await producer.tick()).claimed.hot).toBe(plain.length);
    // then it enters the exports, and comes due behind the plain tokens' jobs
    const doc = exportDocument(T0, [[exported, T0]]);
    await redis.set(redisKeys(prefix).exportDocument, JSON.stringify(doc));
    // past the half due margin a lone due token waits for company under lanes
    clock = T0 + 12_000;
    expect((await producer.tick()).claimed.hot).toBe(1);
    // the job a worker takes next
    const connection = createRedis(redisUrl(), { name: "test-head-worker", blocking: true });
    const taken: string[][] = [];
    const worker = new Worker<BatchJob>(
      QUEUE_NAMES.hot,
      (job) => {
        taken.push(job.data.mints);
        return Promise.resolve();
      },
      { connection, prefix: bullPrefix(prefix), concurrency: 1 },
    );
    try {
      await waitUntil("the worker to take a job", () => taken.length > 0, 10_000, 20);
    } finally {
      await worker.close();
      await connection.quit();
    }
    expect(taken[0]!.includes(exported)).toBe(scheduling === "value");
  });
});

describe("a claim larger than a tick should hold Redis for", () => {
  it.each(["value", "lanes"] as const)(
    "SCHEDULING=%s: takes at most MAX_CLAIM_PER_TICK a lane a tick, says there is more, and takes the rest in the next ticks",
    async (scheduling) => {
      const prefix = uniquePrefix();
      // no budget to speak of and room for every job: only the cap stops the claim
      const env = { ...looseBudgetEnv(prefix, scheduling), MAX_QUEUED_JOBS: "10000" };
      const store = new TokenStore(redis, prefix);
      const count = 2 * MAX_CLAIM_PER_TICK + MAX_CLAIM_PER_TICK / 2;
      const mints = demoMints(count, `cap-${prefix}-`);
      await store.register(
        mints.map((mint) => ({ mint })),
        T0,
      );
      let clock = T0 + 1_000;
      const producer = producerAt(env, () => clock);
      const claims: number[] = [];
      for (let i = 0; i < 10; i++) {
        const t = await producer.tick();
        expect(t.leader).toBe(true);
        expect(t.claimed.cold).toBeLessThanOrEqual(MAX_CLAIM_PER_TICK);
        claims.push(t.claimed.cold);
        if (!t.more) break;
        clock += 10;
      }
      // three ticks: two at the cap (less a partial call), then the rest (half a cap), and no more
      expect(claims).toHaveLength(3);
      expect(claims[0]).toBeGreaterThan(MAX_CLAIM_PER_TICK - 30);
      expect(claims.reduce((a, b) => a + b, 0)).toBe(count);
    },
  );
});

describe("the producer's run loop", () => {
  it("ticks again at once after a claim cut at MAX_CLAIM_PER_TICK, not a tick interval later", async () => {
    const prefix = uniquePrefix();
    const tickMs = 20_000;
    const env = {
      ...looseBudgetEnv(prefix, "value"),
      MAX_QUEUED_JOBS: "10000",
      PRODUCER_TICK_MS: String(tickMs),
    };
    const store = new TokenStore(redis, prefix);
    const count = 2 * MAX_CLAIM_PER_TICK + MAX_CLAIM_PER_TICK / 2;
    const t0 = Date.now();
    await store.register(
      demoMints(count, `loop-${prefix}-`).map((mint) => ({ mint })),
      t0,
    );
    const { stop } = runTestProducer(env);
    try {
      // three claims (two cut at the cap): with a tick interval between them they would take 40 s
      const stillDue = () => redis.zcount(redisKeys(prefix).due("cold"), "-inf", t0 + 1_000);
      await waitUntil(
        "every token claimed, half a tick interval after the start",
        async () => (await stillDue()) === 0,
        tickMs / 2,
        50,
      );
      expect(await stillDue()).toBe(0);
    } finally {
      await stop();
    }
  });
});
