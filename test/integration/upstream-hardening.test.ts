import { type BreakerState, keyRoot } from "@moonfleet/domain";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { PairInput } from "@moonfleet/scoring";
import { TokenStore } from "@moonfleet/store";
import {
  CircuitBreaker,
  RateBudget,
  UpstreamEmptyAnswerError,
  UpstreamFallbackDeferredError,
  UpstreamPairsRejectedError,
  UpstreamRateLimitedError,
  createPairsGateway,
  createUpstreamClient,
  type Fetched,
  type GatewayDeps,
  type MintResult,
  type RejectedPair,
} from "@moonfleet/upstream";
import { demoMints } from "../../apps/simulator/src/index.js";
import {
  RETRY_DELAY_MS,
  createBatchProcessor,
  rejectedRetryDelayMs,
} from "../../apps/worker/src/batch-processor.js";
import { startSimulator, testConfig, testRedis, uniquePrefix } from "../support/harness.js";

// Issue 20, items 1, 2 and 5, one part at a time against the simulator (or a tiny server that
// answers what the simulator cannot) and the real Redis: an unbounded Retry-After, one bad pair
// in an answer, and an upstream that answers every batch call with [].
const redis = testRedis("upstream-hardening");
afterAll(() => redis.quit());
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const SOL = "So11111111111111111111111111111111111111112";
const goodPair = (mint: string, pool: string): PairInput => ({
  chainId: "solana",
  dexId: "raydium",
  pairAddress: pool,
  baseToken: { address: mint, symbol: "GOOD" },
  quoteToken: { address: SOL, symbol: "SOL" },
  txns: { m5: { buys: 3, sells: 2 }, h1: { buys: 30, sells: 20 } },
  volume: { m5: 1_000, h1: 6_000 },
  priceChange: { m5: 1, h1: 2 },
  liquidity: { usd: 50_000 },
});
/** The pair: everything fine but `liquidity.usd: "NaN"`. */
const nanPair = (mint: string, pool: string) =>
  ({ ...goodPair(mint, pool), liquidity: { usd: "NaN" } }) as unknown as PairInput;

/** The pairs a mint got; fails the test if it got an error. */
function pairsOf(r: MintResult<Fetched> | undefined): readonly unknown[] {
  expect(r?.ok).toBe(true);
  return r?.ok ? r.value.pairs : [];
}

async function simulator(settings: Parameters<typeof startSimulator>[0] = {}) {
  const started = await startSimulator(settings);
  cleanups.push(() => started.sim.close());
  return started;
}

/** A gateway to `url` with a breaker that opens after `threshold` failures; records what it reports. */
function gatewayTo(url: string, extra: Partial<GatewayDeps> = {}, threshold = 1_000) {
  const client = createUpstreamClient({ baseUrl: url });
  cleanups.push(() => client.close());
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker(
    () => ({ failureThreshold: threshold, cooldownMs: 60_000, halfOpenCalls: 1, closeAfter: 1 }),
    Date.now,
    (to) => changes.push(to),
  );
  const rejected: RejectedPair[] = [];
  const capped: Array<{ retryAfterMs: number; pausedForMs: number }> = [];
  const gateway = createPairsGateway({
    client,
    budget: null,
    breaker,
    settings: () => ({ retries: 0, maxWaitMs: 0, coalesceMs: 0 }),
    timeoutFor: () => 5_000,
    random: () => 0,
    onPairsRejected: (_lane, _kind, r) => rejected.push(...r),
    onPauseCapped: (_lane, retryAfterMs, pausedForMs) => capped.push({ retryAfterMs, pausedForMs }),
    ...extra,
  });
  return { gateway, breaker, changes, rejected, capped };
}

describe("item 2: one bad pair costs only itself", () => {
  it("scores the other 29 mints of the call, names the bad pair's mint and field, and sends its mint back alone", async () => {
    const { sim, url } = await simulator();
    const prefix = uniquePrefix();
    const store = new TokenStore(redis, prefix);
    const mints = demoMints(30, `bad-pair-${prefix}`);
    for (const m of mints) sim.setOverride(m, "active");
    const bad = mints[19]!;
    const mixed = mints[7]!;
    sim.setOverride(bad, { pairs: [nanPair(bad, "badpool1")] });
    sim.setOverride(mixed, { pairs: [goodPair(mixed, "goodpool"), nanPair(mixed, "nanpool")] });
    const registeredAt = Date.now();
    await store.register(
      mints.map((mint) => ({ mint })),
      registeredAt,
    );
    const { gateway, rejected } = gatewayTo(url);
    // The lanes' TTLs: the others' next due time is a TTL away, which this test measures the bad
    // mint's backoff against (value scheduling would put them at their wanted times instead).
    const config = testConfig({ REDIS_KEY_PREFIX: prefix, DUE_MARGIN_MS: "0", SCHEDULING: "lanes" });
    const failures: Array<{ n: number; err: unknown }> = [];
    const processBatch = createBatchProcessor({
      config: () => config,
      store,
      gateway,
      random: () => 0.5,
      onFailure: (_lane, n, err) => failures.push({ n, err }),
    });

    const started = Date.now();
    const result = await processBatch({ lane: "cold", mints, claimedAt: Date.now() });

    expect(sim.stats().byEndpoint.tokens).toBe(1); // one call for the 30
    expect(result).toMatchObject({ scored: 29, failed: 1, skipped: 0 });
    const loaded = await store.load(mints);
    loaded.forEach((x, i) => {
      if (mints[i] === bad) expect(x?.snapshot ?? null).toBeNull();
      else expect(x?.snapshot?.fetchedAt ?? 0).toBeGreaterThanOrEqual(started);
    });
    // The mint with one good and one bad pair is scored from the good one.
    expect(loaded[7]?.snapshot?.metrics.pairCount).toBe(1);
    // The log's material: the mints and the field, not an array index alone.
    expect(rejected.map((r) => ({ mint: r.mint, field: r.field }))).toEqual(
      expect.arrayContaining([
        { mint: bad, field: "liquidity.usd" },
        { mint: mixed, field: "liquidity.usd" },
      ]),
    );
    expect(rejected).toHaveLength(2);
    // The bad mint is due again on its own: soon (backoff from how stale it is), not with the
    // others a TTL later, so it does not meet them in one call again.
    const dueOf = async (mint: string) =>
      Number(
        (await redis.zscore(`${keyRoot(prefix)}:due:hot`, mint)) ??
          (await redis.zscore(`${keyRoot(prefix)}:due:cold`, mint)),
      );
    const badDue = await dueOf(bad);
    const otherDue = await dueOf(mints[0]!);
    expect(otherDue).toBeGreaterThan(started + 5_000);
    expect(badDue).toBeGreaterThanOrEqual(started + RETRY_DELAY_MS * 0.75);
    expect(badDue).toBeLessThan(otherDue - 5_000);
    expect(failures).toHaveLength(1);
    expect(failures[0]?.n).toBe(1);
    expect(failures[0]?.err).toBeInstanceOf(UpstreamPairsRejectedError);
    expect((failures[0]?.err as UpstreamPairsRejectedError).mint).toBe(bad);
  });

  it("backs off a mint that keeps failing: the wait grows with how long it has been stale, within bounds", () => {
    const ttl = 30_000;
    const waits = [0, 2_000, 8_000, 32_000, 3_600_000].map((stale) =>
      rejectedRetryDelayMs(stale, 10 * ttl, () => 0.5),
    );
    expect(waits).toEqual([RETRY_DELAY_MS, 2_000, 8_000, 32_000, 10 * ttl]);
    expect(rejectedRetryDelayMs(8_000, 10 * ttl, () => 0)).toBe(6_000);
    expect(rejectedRetryDelayMs(8_000, 10 * ttl, () => 1)).toBe(10_000);
  });

  it("fails a call whose answer has no usable pair for any mint as a whole (a changed shape)", async () => {
    const { sim, url } = await simulator();
    const [a, b] = demoMints(2, "unreadable");
    // A bad pair that names no asked mint: nothing in the answer can be read for anyone.
    sim.setOverride(a!, { pairs: [{ ...nanPair("elsewhere", "p"), baseToken: 7 } as unknown as PairInput] });
    sim.setOverride(b!, "dead");
    const { gateway, rejected } = gatewayTo(url);

    const result = await gateway.direct("hot", [a!, b!]);

    for (const m of [a!, b!]) {
      const r = result.get(m);
      expect(r?.ok).toBe(false);
      expect(r && !r.ok && (r.error as Error).message).toMatch(/Pair schema: 0\.baseToken/);
    }
    expect(rejected).toEqual([]);
  });
});

describe("item 5: an upstream that answers [] to every batch call", () => {
  it("counts an all-empty answer for mints that had pairs toward the breaker, with no fallback calls", async () => {
    const { sim, url } = await simulator({ omitRate: 1 });
    const mints = demoMints(30, "all-empty");
    for (const m of mints) sim.setOverride(m, "active");
    const { gateway, breaker, changes } = gatewayTo(
      url,
      { wantsFallback: () => true, hadPairs: () => true },
      1,
    );

    const result = await gateway.request("hot", mints);

    expect(sim.stats().byEndpoint.tokens).toBe(1);
    expect(sim.stats().byEndpoint.tokenPairs).toBe(0);
    for (const m of mints) {
      const r = result.get(m);
      expect(r?.ok).toBe(false);
      expect(r && !r.ok && r.error).toBeInstanceOf(UpstreamEmptyAnswerError);
    }
    expect(changes).toEqual(["open"]);
    expect(breaker.state).toBe("open");
  });

  it("spends only the fleet's fallback share on /token-pairs, deferring the rest", async () => {
    const { sim, url } = await simulator({ omitRate: 1 });
    const mints = demoMints(30, "fallback-share");
    for (const m of mints) sim.setOverride(m, "active");
    const prefix = uniquePrefix();
    // 60 rpm x 0.1: 6 fallbacks a minute, a burst of one, the next one 10 s later.
    const config = testConfig({ UPSTREAM_RPM: "60", UPSTREAM_FALLBACK_SHARE: "0.1" });
    const fallbackBudget = RateBudget.forFallbacks(redis, prefix, () => config);
    // Only the last mint had pairs (one is not enough for an all-empty fault); the others were
    // never scored. Every one wants a fallback; the share decides how many get one.
    const last = mints[29]!;
    const { gateway } = gatewayTo(url, {
      wantsFallback: () => true,
      hadPairs: (m) => m === last,
      fallbackBudget,
    });

    const result = await gateway.request("cold", mints);

    expect(sim.stats().byEndpoint.tokens).toBe(1);
    expect(sim.stats().byEndpoint.tokenPairs).toBe(1);
    expect(pairsOf(result.get(mints[0]!)).length).toBeGreaterThan(0); // the one fallback granted
    // The mint that had pairs keeps its last snapshot (deferred); the never-scored ones take the
    // empty answer as it is.
    const r = result.get(last);
    expect(r && !r.ok && r.error).toBeInstanceOf(UpstreamFallbackDeferredError);
    for (const m of mints.slice(1, 29)) expect(pairsOf(result.get(m))).toEqual([]);
    const use = await fallbackBudget.use();
    expect(use.thisMinute + use.lastMinute).toBe(1);
  });
});

describe("item 1: a pause from outside is bounded and can be cleared", () => {
  const settings = (maxPauseMs: number) => () => ({
    rpm: 6_000,
    burst: 100,
    hotReserve: 10,
    penaltyFactor: 0.5,
    penaltyMs: 60_000,
    maxPauseMs,
  });

  it("cuts a Retry-After of a day to the cap and says so", async () => {
    const b = new RateBudget(redis, `${uniquePrefix()}:budget`, settings(2_000));
    const p = await b.penalty(86_400_000);
    expect(p.capped).toBe(true);
    expect(p.pausedForMs).toBe(2_000);
    const t = await b.take("hot");
    expect(t.granted).toBe(false);
    expect(!t.granted && t.waitMs).toBeLessThanOrEqual(2_000);
    expect((await b.penalty(500)).capped).toBe(false);
  });

  it("clamps a day-long pause an older version stored, on the next take", async () => {
    const b = new RateBudget(redis, `${uniquePrefix()}:budget`, settings(3_000));
    const [secs] = await redis.time();
    const nowMs = Number(secs) * 1000;
    await redis.hset(b.key, "pausedUntil", nowMs + 86_400_000, "penaltyAt", nowMs);

    const t = await b.take("cold");

    expect(t.granted).toBe(false);
    expect(!t.granted && t.waitMs).toBeLessThanOrEqual(3_000);
    expect(Number(await redis.hget(b.key, "pausedUntil"))).toBeLessThanOrEqual(nowMs + 3_000 + 1_000);
    expect((await b.use()).pausedForMs).toBeLessThanOrEqual(3_000);
  });

  it("clearPause() ends the pause and the slower rate at once", async () => {
    const b = new RateBudget(redis, `${uniquePrefix()}:budget`, settings(600_000));
    await b.penalize(300_000);
    expect((await b.take("hot")).granted).toBe(false);

    const cleared = await b.clearPause();

    expect(cleared.pausedForMs).toBeGreaterThan(290_000);
    expect(cleared.penaltyAt).toBeGreaterThan(0);
    expect(await b.use()).toMatchObject({ pausedForMs: 0, penaltyAt: 0 });
    // The bucket refills at the full rate again: a permit within a second.
    const deadline = Date.now() + 1_000;
    let granted = false;
    while (!granted && Date.now() < deadline) granted = (await b.take("hot")).granted;
    expect(granted).toBe(true);
  });

  it("the gateway pauses the fleet for the cap, not for the Retry-After of a day", async () => {
    // A tiny upstream that answers every call 429 with Retry-After: 86400.
    let calls = 0;
    const server: Server = createServer((_req, res) => {
      calls++;
      res.writeHead(429, { "retry-after": "86400", "content-type": "application/json" }).end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const budget = new RateBudget(redis, `${uniquePrefix()}:budget`, settings(4_000));
    const { gateway, capped } = gatewayTo(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      budget,
    });
    const [mint] = demoMints(1, "retry-after-day");

    const r = (await gateway.direct("hot", [mint!])).get(mint!);

    expect(calls).toBe(1);
    expect(r?.ok).toBe(false);
    const err = r && !r.ok ? r.error : null;
    expect(err).toBeInstanceOf(UpstreamRateLimitedError);
    expect((err as UpstreamRateLimitedError).retryAfterMs).toBe(4_000);
    expect(capped).toEqual([{ retryAfterMs: 86_400_000, pausedForMs: 4_000 }]);
    const use = await budget.use();
    expect(use.pausedForMs).toBeGreaterThan(3_000);
    expect(use.pausedForMs).toBeLessThanOrEqual(4_000);
  });
});

describe("hedged calls for exported tokens, through the batch processor", () => {
  it("hedges the call of a batch that holds an exported mint, and not that of a batch without one", async () => {
    const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
    const prefix = uniquePrefix();
    const store = new TokenStore(redis, prefix);
    const [exported, beside, quiet] = demoMints(3, `hedge-${prefix}`);
    await store.register(
      [exported!, beside!, quiet!].map((mint) => ({ mint })),
      Date.now(),
    );
    // the producer's word on what the exports serve, as the worker loads it with its batch
    await store.publishSchedule({ hot: 1, cold: 1 }, [exported!]);
    const exportedNow = new Set<string>();
    const hedges: string[] = [];
    const { gateway } = gatewayTo(url, {
      timeoutFor: () => 600,
      hedgeAfterMs: (_lane, mints) => (mints.some((m) => exportedNow.has(m)) ? 100 : null),
      onHedge: (_lane, e) => {
        hedges.push(e);
        if (e === "sent") sim.settings.update({ hangRate: 0 });
      },
    });
    const config = testConfig({ REDIS_KEY_PREFIX: prefix });
    const processBatch = createBatchProcessor({
      config: () => config,
      store,
      gateway,
      exported: exportedNow,
    });

    const first = await processBatch({ lane: "hot", mints: [exported!, beside!], claimedAt: Date.now() });

    expect(first).toMatchObject({ scored: 2, failed: 0 });
    expect(hedges).toEqual(["sent", "won"]);
    expect(sim.stats().hung).toBe(1);
    // the set holds a job's exported mints only while its call runs
    expect(exportedNow.size).toBe(0);

    sim.settings.update({ hangRate: 1 });
    const second = await processBatch({ lane: "hot", mints: [quiet!], claimedAt: Date.now() });

    expect(second).toMatchObject({ scored: 0, failed: 1 });
    expect(hedges).toEqual(["sent", "won"]);
    expect(sim.stats().hung).toBe(2);
  });
});
