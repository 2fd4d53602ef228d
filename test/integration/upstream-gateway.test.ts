import { setTimeout as sleep } from "node:timers/promises";
import type { BreakerState } from "@moonfleet/domain";
import { getEventListeners } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  CircuitBreaker,
  MAX_RESPONSE_BYTES,
  RateBudget,
  UpstreamBudgetExhaustedError,
  EXPORTED_HEAD_START_MS,
  UpstreamCircuitOpenError,
  UpstreamHttpError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
  createPairsGateway,
  createUpstreamClient,
  type BreakerSettings,
  type CallOutcome,
  type HedgeEvent,
  type GatewaySettings,
  type MintResult,
  type Fetched,
} from "@moonfleet/upstream";
import { createSimulator, demoMints, type Simulator } from "../../apps/simulator/src/index.js";
import { startSimulator, testRedis, uniquePrefix } from "../support/harness.js";

// The gateway against the simulator over loopback: every count here is a request the simulator saw.
const redis = testRedis("upstream-gateway");
const prefix = uniquePrefix();
afterAll(() => redis.quit());

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

interface Options {
  settings?: Partial<GatewaySettings>;
  breaker?: Partial<BreakerSettings>;
  timeoutMs?: number;
  budget?: RateBudget | null;
  wantsFallback?: (mint: string) => boolean;
  urgentAt?: (mint: string) => number | undefined;
  hedgeAfterMs?: (lane: "hot" | "cold", mints: readonly string[]) => number | null;
  hedgeWanted?: (lane: "hot" | "cold", mints: readonly string[]) => boolean | Promise<boolean>;
  firstHeadStartMs?: (lane: "hot" | "cold", mints: readonly string[]) => number;
  onHedge?: (event: HedgeEvent) => void;
  /** The process's shutdown signal. */
  signal?: AbortSignal;
}

/** A client, breaker (on a hand-driven clock) and gateway to `url`; zero backoff so retries are quick. */
function gatewayTo(url: string, opts: Options = {}) {
  const client = createUpstreamClient({ baseUrl: url });
  cleanups.push(() => client.close());
  const clock = { t: Date.now() };
  const changes: Array<{ from: BreakerState; to: BreakerState }> = [];
  const breaker = new CircuitBreaker(
    () => ({ failureThreshold: 1_000, cooldownMs: 30_000, halfOpenCalls: 1, closeAfter: 2, ...opts.breaker }),
    () => clock.t,
    (to, from) => changes.push({ from, to }),
  );
  const outcomes: CallOutcome[] = [];
  const gateway = createPairsGateway({
    client,
    budget: opts.budget ?? null,
    breaker,
    settings: () => ({ retries: 0, maxWaitMs: 0, coalesceMs: 200, ...opts.settings }),
    timeoutFor: () => opts.timeoutMs ?? 5_000,
    random: () => 0,
    onCall: (_lane, _ms, outcome) => outcomes.push(outcome),
    ...(opts.wantsFallback ? { wantsFallback: opts.wantsFallback } : {}),
    ...(opts.urgentAt ? { urgentAt: opts.urgentAt } : {}),
    ...(opts.hedgeAfterMs ? { hedgeAfterMs: opts.hedgeAfterMs } : {}),
    ...(opts.hedgeWanted ? { hedgeWanted: opts.hedgeWanted } : {}),
    ...(opts.firstHeadStartMs ? { firstHeadStartMs: opts.firstHeadStartMs } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onHedge ? { onHedge: (_lane: unknown, e: HedgeEvent) => opts.onHedge!(e) } : {}),
  });
  return { gateway, breaker, clock, changes, outcomes };
}

/** A budget of 1 s a token with a burst of 3, all taken. */
async function drainedBudget(key: string): Promise<RateBudget> {
  const budget = new RateBudget(redis, key, () => ({
    rpm: 63,
    burst: 3,
    hotReserve: 0,
    penaltyFactor: 0.5,
    penaltyMs: 60_000,
  }));
  for (let i = 0; i < 3; i++) expect((await budget.take("hot")).granted).toBe(true);
  return budget;
}

async function simulator(settings: Parameters<typeof startSimulator>[0] = {}) {
  const started = await startSimulator(settings);
  cleanups.push(() => started.sim.close());
  return started;
}

/** The error one mint got; fails the test if the mint got pairs. */
function errorOf(result: Map<string, MintResult<Fetched>>, mint: string): unknown {
  const r = result.get(mint);
  expect(r?.ok).toBe(false);
  return r && !r.ok ? r.error : undefined;
}

function pairsOf(
  result: Map<string, MintResult<Fetched>>,
  mint: string,
): readonly Fetched["pairs"][number][] {
  const r = result.get(mint);
  expect(r?.ok).toBe(true);
  return r?.ok ? r.value.pairs : [];
}

describe("the pairs gateway against the simulator", () => {
  it("merges concurrent jobs' overlapping mints into one call per 30 distinct mints", async () => {
    const { sim, url } = await simulator();
    const { gateway } = gatewayTo(url, { settings: { coalesceMs: 200 } });
    const all = demoMints(90, "coalesce");
    // Five jobs of 40 mints each, overlapping, together covering all 90.
    const jobs = [0, 1, 2, 3, 4].map((j) => [...all, ...all].slice(j * 20, j * 20 + 40));

    const results = await Promise.all(jobs.map((job) => gateway.request("cold", job)));

    const stats = sim.stats();
    expect(stats.byEndpoint.tokens).toBe(3); // ceil(90 / 30), not 5 jobs x 2 calls
    expect(stats.mintsRequested).toBe(90);
    results.forEach((r, j) => {
      expect(r.size).toBe(40);
      for (const mint of jobs[j]!) expect(r.get(mint)?.ok).toBe(true);
    });
    // Not vacuous: the answers carry the mints' own pairs.
    const some = results.flatMap((r) => [...r.entries()]).filter(([, v]) => v.ok && v.value.pairs.length > 0);
    expect(some.length).toBeGreaterThan(10);
    for (const [mint, v] of some)
      expect(v.ok && v.value.pairs.every((p) => p.baseToken.address === mint)).toBe(true);
  });

  it("cuts a hanging request at the lane timeout and retries it before failing", async () => {
    const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
    const { gateway, outcomes } = gatewayTo(url, { timeoutMs: 400, settings: { retries: 2 } });
    const [mint] = demoMints(1, "hang");

    const started = Date.now();
    const result = await gateway.direct("hot", [mint!]);
    const elapsed = Date.now() - started;

    const error = errorOf(result, mint!);
    expect(error).toBeInstanceOf(UpstreamTimeoutError);
    expect((error as UpstreamTimeoutError).timeoutMs).toBe(400);
    expect(sim.stats().byEndpoint.tokens).toBe(3); // the first try and 2 retries
    expect(sim.stats().hung).toBe(3);
    expect(outcomes).toEqual(["timeout", "timeout", "timeout"]);
    expect(elapsed).toBeLessThan(15_000); // cut, far from the 60 s hang
  });

  describe("hedged calls (a call carrying an exported mint)", () => {
    it("sends a hedge beside a call that hangs: the hedge's answer is used, the hung call is dropped without a breaker failure", async () => {
      const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
      const [exported, other] = demoMints(2, "hedge");
      const hedges: string[] = [];
      const { gateway, breaker, outcomes } = gatewayTo(url, {
        timeoutMs: 10_000,
        // one failure would open it: the dropped call must not count as one
        breaker: { failureThreshold: 1 },
        hedgeAfterMs: (_lane, mints) => (mints.includes(exported!) ? 150 : null),
        onHedge: (e) => {
          hedges.push(e);
          // the upstream answers again from the hedge on; the first call still hangs
          if (e === "sent") sim.settings.update({ hangRate: 0 });
        },
      });

      const result = await gateway.direct("hot", [exported!, other!]);

      expect(pairsOf(result, exported!).length).toBeGreaterThan(0);
      expect(pairsOf(result, other!).length).toBeGreaterThan(0);
      expect(hedges).toEqual(["sent", "won"]);
      expect(sim.stats().byEndpoint.tokens).toBe(2);
      expect(sim.stats().hung).toBe(1);
      // the hedge's answer was told; the dropped call was neither a timeout nor an error
      expect(outcomes).toEqual(["ok"]);
      expect(breaker.state).toBe("closed");
    });

    it("sends no hedge when the first call answers in time, nor for a call without an exported mint", async () => {
      const { sim, url } = await simulator();
      const [exported, quiet] = demoMints(2, "no-hedge");
      const hedges: string[] = [];
      const asked: string[][] = [];
      const { gateway } = gatewayTo(url, {
        hedgeAfterMs: (_lane, mints) => {
          asked.push([...mints]);
          return mints.includes(exported!) ? 5_000 : null;
        },
        onHedge: (e) => hedges.push(e),
      });

      expect(pairsOf(await gateway.direct("hot", [exported!]), exported!).length).toBeGreaterThan(0);
      expect(pairsOf(await gateway.direct("hot", [quiet!]), quiet!).length).toBeGreaterThan(0);

      expect(asked).toEqual([[exported], [quiet]]);
      expect(hedges).toEqual([]);
      expect(sim.stats().byEndpoint.tokens).toBe(2);
    });

    it("asks hedgeWanted once the delay has run out: no hedge on a no, one on a later yes", async () => {
      const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
      const [first, second] = demoMints(2, "hedge-wanted");
      const hedges: string[] = [];
      const asked: Array<{ mints: string[]; atMs: number }> = [];
      let started = 0;
      let wanted = false;
      const { gateway, outcomes } = gatewayTo(url, {
        timeoutMs: 600,
        hedgeAfterMs: () => 150,
        hedgeWanted: async (_lane, mints) => {
          asked.push({ mints: [...mints], atMs: performance.now() - started });
          await new Promise((r) => setTimeout(r, 10)); // as a read from Redis would
          return wanted;
        },
        onHedge: (e) => {
          hedges.push(e);
          if (e === "sent") sim.settings.update({ hangRate: 0 });
        },
      });

      // "no": the call hangs to its timeout, unhedged
      started = performance.now();
      expect(errorOf(await gateway.direct("hot", [first!]), first!)).toBeInstanceOf(UpstreamTimeoutError);
      expect(hedges).toEqual([]);
      expect(outcomes).toEqual(["timeout"]);
      expect(sim.stats().byEndpoint.tokens).toBe(1);

      // "yes" (a mint entered the exports meanwhile): the hedge answers
      wanted = true;
      started = performance.now();
      expect(pairsOf(await gateway.direct("hot", [second!]), second!).length).toBeGreaterThan(0);
      expect(hedges).toEqual(["sent", "won"]);
      expect(sim.stats().byEndpoint.tokens).toBe(3);
      expect(asked.map((a) => a.mints)).toEqual([[first], [second]]);
      // asked when the delay ran out, not when the call began
      for (const a of asked) expect(a.atMs).toBeGreaterThanOrEqual(140);
    });

    it("leaves nothing on the process's signal once its calls are done, and stops a call when it aborts", async () => {
      const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
      const [a, b, c] = demoMints(3, "hedge-signal");
      const shutdown = new AbortController();
      const hedges: string[] = [];
      let hedgeAnswers = true;
      const { gateway } = gatewayTo(url, {
        timeoutMs: 10_000,
        signal: shutdown.signal,
        hedgeAfterMs: () => 100,
        onHedge: (e) => {
          hedges.push(e);
          if (e === "sent" && hedgeAnswers) sim.settings.update({ hangRate: 0 });
        },
      });

      // a hedged call (the first hangs, its hedge answers) and a plain one
      expect(pairsOf(await gateway.direct("hot", [a!]), a!).length).toBeGreaterThan(0);
      expect(pairsOf(await gateway.direct("hot", [b!]), b!).length).toBeGreaterThan(0);
      expect(hedges).toEqual(["sent", "won"]);
      // each call's link to the process's signal went with it
      expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);

      // a call that hangs, and its hedge too, stop when the process does, long before their 10 s timeout
      hedgeAnswers = false;
      sim.settings.update({ hangRate: 1 });
      const started = performance.now();
      const pending = gateway.direct("hot", [c!]);
      await new Promise((r) => setTimeout(r, 300));
      expect(getEventListeners(shutdown.signal, "abort").length).toBeGreaterThan(0);
      shutdown.abort(new Error("shutting down"));
      expect(errorOf(await pending, c!)).toBeTruthy();
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
    });

    it("carries many calls at once on the process's signal without a listener warning", async () => {
      const { sim, url } = await simulator({ latencyMs: 150 });
      const mints = demoMints(24, "many-on-signal");
      const shutdown = new AbortController();
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on("warning", onWarning);
      try {
        const { gateway } = gatewayTo(url, { signal: shutdown.signal });
        const calls = mints.map((m) => gateway.direct("cold", [m]));
        await new Promise((r) => setTimeout(r, 60));
        const most = getEventListeners(shutdown.signal, "abort").length;
        const answers = await Promise.all(calls);
        answers.forEach((a, i) => expect(pairsOf(a, mints[i]!).length).toBeGreaterThan(0));
        // the calls were in flight together, each listening on the signal
        expect(most).toBeGreaterThan(10);
        expect(sim.stats().byEndpoint.tokens).toBe(mints.length);
        await new Promise((r) => setImmediate(r));
        expect(warnings.filter((w) => w.startsWith("MaxListenersExceededWarning"))).toEqual([]);
        expect(getEventListeners(shutdown.signal, "abort")).toHaveLength(0);
      } finally {
        process.off("warning", onWarning);
      }
    });

    it("fails with the first call's error only when the hedge failed too", async () => {
      const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
      const [exported] = demoMints(1, "hedge-fails");
      const hedges: string[] = [];
      const { gateway, outcomes } = gatewayTo(url, {
        timeoutMs: 400,
        hedgeAfterMs: () => 100,
        onHedge: (e) => hedges.push(e),
      });

      const error = errorOf(await gateway.direct("hot", [exported!]), exported!);

      expect(error).toBeInstanceOf(UpstreamTimeoutError);
      expect(hedges).toEqual(["sent"]);
      expect(sim.stats().byEndpoint.tokens).toBe(2);
      expect(outcomes).toEqual(["timeout", "timeout"]);
    });

    it("takes a budget permit of its own for the hedge", async () => {
      const { sim, url } = await simulator({ hangRate: 1, hangMs: 60_000 });
      const [exported] = demoMints(1, "hedge-budget");
      // two permits in the bucket, refilled slowly: the first call and its hedge take both
      const budget = new RateBudget(redis, `${prefix}:budget:hedge`, () => ({
        rpm: 6,
        burst: 2,
        hotReserve: 0,
        penaltyFactor: 0.5,
        penaltyMs: 60_000,
      }));
      const { gateway } = gatewayTo(url, {
        timeoutMs: 10_000,
        budget,
        settings: { maxWaitMs: 60_000 },
        hedgeAfterMs: () => 100,
        onHedge: (e) => {
          if (e === "sent") sim.settings.update({ hangRate: 0 });
        },
      });

      expect(pairsOf(await gateway.direct("hot", [exported!]), exported!).length).toBeGreaterThan(0);
      expect(sim.stats().byEndpoint.tokens).toBe(2);
      const next = await budget.take("hot");
      expect(next.granted).toBe(false);
    });
  });

  it("reports a timed-out call as having run to the timeout it ran out at, however early its timer fired", async () => {
    // A client whose every call times out at once: the gateway's own clock says ~0 ms.
    const client = {
      fetchPairs: () => Promise.reject(new UpstreamTimeoutError(1_500)),
      fetchTokenPairs: () => Promise.reject(new UpstreamTimeoutError(1_500)),
      takeConnectionQueue: () => ({ calls: 0, waitingSum: 0, connections: 1 }),
      close: () => Promise.resolve(),
    };
    const calls: Array<{ ms: number; outcome: CallOutcome }> = [];
    const gateway = createPairsGateway({
      client,
      budget: null,
      breaker: new CircuitBreaker(
        () => ({ failureThreshold: 1_000, cooldownMs: 30_000, halfOpenCalls: 1, closeAfter: 2 }),
        Date.now,
      ),
      settings: () => ({ retries: 0, maxWaitMs: 0, coalesceMs: 0 }),
      timeoutFor: () => 1_500,
      onCall: (_lane, ms, outcome) => calls.push({ ms, outcome }),
    });
    const [mint] = demoMints(1, "early-timer");
    expect(errorOf(await gateway.direct("cold", [mint!]), mint!)).toBeInstanceOf(UpstreamTimeoutError);
    expect(calls).toEqual([{ ms: 1_500, outcome: "timeout" }]);
  });

  it("retries a 5xx, then fails with UpstreamHttpError that the breaker counts", async () => {
    const { sim, url } = await simulator({ errorRate: 1 });
    const { gateway, breaker, changes } = gatewayTo(url, {
      settings: { retries: 2 },
      breaker: { failureThreshold: 3 },
    });
    const [mint] = demoMints(1, "5xx");

    const error = errorOf(await gateway.direct("cold", [mint!]), mint!);

    expect(error).toBeInstanceOf(UpstreamHttpError);
    expect((error as UpstreamHttpError).status).toBe(500);
    expect(sim.stats().byEndpoint.tokens).toBe(3);
    // Each of the three attempts was a breaker failure: the threshold of 3 is reached.
    expect(breaker.state).toBe("open");
    expect(changes).toEqual([{ from: "closed", to: "open" }]);
  });

  it("opens the breaker after N failures, sends nothing while open, then half-opens and closes", async () => {
    const { sim, url } = await simulator({ errorRate: 1 });
    const { gateway, breaker, clock, changes } = gatewayTo(url, {
      breaker: { failureThreshold: 3, cooldownMs: 30_000, halfOpenCalls: 1, closeAfter: 2 },
    });
    const [mint] = demoMints(1, "breaker");

    for (let i = 0; i < 3; i++)
      expect(errorOf(await gateway.direct("cold", [mint!]), mint!)).toBeInstanceOf(UpstreamHttpError);
    expect(breaker.state).toBe("open");
    expect(sim.stats().requests).toBe(3);

    // Open: refused before the network, for the rest of the cool-down.
    clock.t += 10_000;
    for (let i = 0; i < 5; i++) {
      const error = errorOf(await gateway.request("cold", [mint!]), mint!);
      expect(error).toBeInstanceOf(UpstreamCircuitOpenError);
      expect((error as UpstreamCircuitOpenError).retryInMs).toBe(20_000);
    }
    expect(sim.stats().requests).toBe(3);

    // The upstream recovers; after the cool-down two successful trials close the breaker.
    sim.settings.update({ errorRate: 0 });
    clock.t += 20_000;
    expect(breaker.state).toBe("half_open");
    expect(pairsOf(await gateway.direct("cold", [mint!]), mint!)).toBeDefined();
    expect(breaker.state).toBe("half_open");
    expect(pairsOf(await gateway.direct("cold", [mint!]), mint!)).toBeDefined();
    expect(breaker.state).toBe("closed");
    expect(sim.stats().requests).toBe(5);
    expect(changes.map((c) => c.to)).toEqual(["open", "half_open", "closed"]);
  });

  it("re-opens the breaker when a half-open trial fails", async () => {
    const { sim, url } = await simulator({ outage: true });
    const { gateway, breaker, clock } = gatewayTo(url, { breaker: { failureThreshold: 2 } });
    const [mint] = demoMints(1, "reopen");
    await gateway.direct("hot", [mint!]);
    await gateway.direct("hot", [mint!]);
    clock.t += 30_000;
    expect(breaker.state).toBe("half_open");
    expect(errorOf(await gateway.direct("hot", [mint!]), mint!)).toBeInstanceOf(UpstreamHttpError);
    expect(breaker.state).toBe("open");
    expect(sim.stats().byStatus["503"]).toBe(3);
  });

  it("gives a malformed answer an UpstreamSchemaError naming the problem, without retrying", async () => {
    // Own simulator, to choose which malformed body it sends: below 0.5 truncated JSON, else a wrong shape.
    let roll = 0.1;
    const sim: Simulator = createSimulator({
      settings: { latencyMs: 0, jitterMs: 0, rateLimitRpm: 0, malformedRate: 1 },
      random: () => roll,
    });
    const { url } = await sim.listen(0, "127.0.0.1");
    cleanups.push(() => sim.close());
    const { gateway, breaker } = gatewayTo(url, {
      settings: { retries: 3 },
      breaker: { failureThreshold: 2 },
    });
    const [mint] = demoMints(1, "malformed");

    const truncated = errorOf(await gateway.direct("cold", [mint!]), mint!);
    expect(truncated).toBeInstanceOf(UpstreamSchemaError);
    expect((truncated as Error).message).toMatch(/not valid JSON/);
    expect((truncated as Error).message).toMatch(/\(\d+ bytes, starts "\[\{/);

    roll = 0.9;
    const wrongShape = errorOf(await gateway.direct("cold", [mint!]), mint!);
    expect(wrongShape).toBeInstanceOf(UpstreamSchemaError);
    expect((wrongShape as Error).message).toMatch(/Pair schema/);
    expect((wrongShape as Error).message).toMatch(/0\.dexId/);

    expect(sim.stats().byEndpoint.tokens).toBe(2); // one each: not retried
    expect(sim.stats().malformed).toBe(2);
    // A bad answer is not an outage: the breaker does not count it.
    expect(breaker.state).toBe("closed");
  });

  it("turns a 429 into UpstreamRateLimitedError with Retry-After and pauses the fleet's budget", async () => {
    const { sim, url } = await simulator({ rateLimitRpm: 1, rateLimitWindowMs: 60_000 });
    const budget = new RateBudget(redis, `${prefix}:budget:429`, () => ({
      rpm: 6_000,
      burst: 100,
      hotReserve: 10,
      penaltyFactor: 0.5,
      penaltyMs: 60_000,
    }));
    const { gateway, breaker } = gatewayTo(url, {
      budget,
      settings: { retries: 3, maxWaitMs: 0 },
      breaker: { failureThreshold: 1 },
    });
    const [first, second] = demoMints(2, "rate-limited");

    expect(pairsOf(await gateway.direct("hot", [first!]), first!)).toBeDefined();
    expect((await budget.use()).pausedForMs).toBe(0);

    const error = errorOf(await gateway.direct("hot", [second!]), second!);
    expect(error).toBeInstanceOf(UpstreamRateLimitedError);
    const retryAfterMs = (error as UpstreamRateLimitedError).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThanOrEqual(58_000);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(sim.stats().rateLimited).toBe(1);
    expect(sim.stats().byEndpoint.tokens).toBe(2); // a 429 is not retried at once
    expect(breaker.state).toBe("closed"); // strict, not down

    const use = await budget.use();
    expect(use.pausedForMs).toBeGreaterThan(50_000);
    // The whole fleet waits now: the next call finds no permit and never reaches the upstream.
    const paused = errorOf(await gateway.direct("cold", [second!]), second!);
    expect(paused).toBeInstanceOf(UpstreamBudgetExhaustedError);
    expect((paused as UpstreamBudgetExhaustedError).waitMs).toBeGreaterThan(50_000);
    expect(sim.stats().requests).toBe(2);
  });

  it("asks /token-pairs/v1 once for a mint the batch answer left out, only when wanted", async () => {
    const { sim, url } = await simulator({ omitRate: 1 });
    const [live, dead] = demoMints(2, "fallback");
    sim.setOverride(live!, "active");
    sim.setOverride(dead!, "dead");
    const { gateway, outcomes } = gatewayTo(url, { wantsFallback: (m) => m === live });

    const result = await gateway.request("cold", [live!, dead!]);

    expect(sim.stats().byEndpoint.tokens).toBe(1);
    expect(sim.stats().byEndpoint.tokenPairs).toBe(1);
    const pairs = pairsOf(result, live!);
    expect(pairs.length).toBeGreaterThan(0);
    expect(pairs.every((p) => p.baseToken.address === live)).toBe(true);
    expect(pairsOf(result, dead!)).toEqual([]);
    expect(outcomes).toEqual(["ok", "ok"]);
  });

  it("makes no fallback call when the mint is not wanted", async () => {
    const { sim, url } = await simulator({ omitRate: 1 });
    const [live] = demoMints(1, "no-fallback");
    sim.setOverride(live!, "active");
    const { gateway } = gatewayTo(url, { wantsFallback: () => false });

    const result = await gateway.request("cold", [live!]);

    expect(pairsOf(result, live!)).toEqual([]);
    expect(sim.stats().byEndpoint.tokens).toBe(1);
    expect(sim.stats().byEndpoint.tokenPairs).toBe(0);
  });

  it("looks once for a mint the upstream really has no pairs for, then counts it as none", async () => {
    const { sim, url } = await simulator();
    const [live, dead] = demoMints(2, "dead-fallback");
    sim.setOverride(live!, "active");
    sim.setOverride(dead!, "dead");
    const { gateway } = gatewayTo(url, { wantsFallback: () => true });

    const result = await gateway.request("hot", [live!, dead!]);

    expect(pairsOf(result, live!).length).toBeGreaterThan(0);
    expect(pairsOf(result, dead!)).toEqual([]);
    expect(sim.stats().byEndpoint.tokens).toBe(1);
    expect(sim.stats().byEndpoint.tokenPairs).toBe(1); // only the empty one
  });

  it("refuses an answer over the size limit", async () => {
    const { sim, url } = await simulator();
    const [mint] = demoMints(1, "huge");
    // A valid pair, only with a url long enough to push the answer past the limit.
    const longUrl = `https://dexscreener.com/solana/${"x".repeat(MAX_RESPONSE_BYTES)}`;
    sim.setOverride(mint!, {
      pairs: [
        {
          chainId: "solana",
          dexId: "raydium",
          pairAddress: "p1",
          baseToken: { address: mint! },
          quoteToken: {},
          url: longUrl,
        },
      ],
    });
    const { gateway, breaker } = gatewayTo(url, {
      settings: { retries: 2 },
      breaker: { failureThreshold: 1 },
    });

    const error = errorOf(await gateway.direct("cold", [mint!]), mint!);

    expect(error).toBeInstanceOf(UpstreamSchemaError);
    expect((error as Error).message).toMatch(/over the \d+-byte limit/);
    expect(sim.stats().byEndpoint.tokens).toBe(1); // not retried
    expect(breaker.state).toBe("closed");
  });

  it("refuses an over-limit answer sent without a Content-Length (chunked)", async () => {
    // The simulator always sends Content-Length; a real upstream behind a proxy may stream instead.
    let requests = 0;
    const server: Server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = " ".repeat(1024 * 1024);
      res.write("[");
      for (let i = 0; i * chunk.length <= MAX_RESPONSE_BYTES; i++) res.write(chunk);
      res.end("]");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { gateway } = gatewayTo(url, { settings: { retries: 2 } });
    const [mint] = demoMints(1, "huge-chunked");

    const error = errorOf(await gateway.direct("cold", [mint!]), mint!);

    expect(error).toBeInstanceOf(UpstreamSchemaError);
    expect((error as Error).message).toMatch(/over the \d+-byte limit/);
    expect(requests).toBe(1);
  });

  it("lets a cold call whose job is past its urgentAt take the budget as hot does", async () => {
    const { url } = await simulator();
    const budget = new RateBudget(redis, `${prefix}:budget:urgent`, () => ({
      rpm: 6,
      burst: 3,
      hotReserve: 2,
      penaltyFactor: 0.5,
      penaltyMs: 60_000,
    }));
    // hot takes one of the 3: cold now needs more than the reserve of 2 left, and does not get it
    expect((await budget.take("hot")).granted).toBe(true);
    const [calm, late, soon] = demoMints(3, `urgent-${prefix}`) as [string, string, string];
    const urgentAt = new Map([
      [late, Date.now() - 1_000],
      [soon, Date.now() + 60_000],
    ]);
    const { gateway } = gatewayTo(url, { budget, urgentAt: (m) => urgentAt.get(m) });
    expect(errorOf(await gateway.direct("cold", [calm]), calm)).toBeInstanceOf(UpstreamBudgetExhaustedError);
    // a job that was to start by now goes as hot: the reserve is not kept from it
    expect(pairsOf(await gateway.direct("cold", [late]), late).length).toBeGreaterThan(0);
    // one whose deadline is ahead waits as cold (1 token left, the reserve 2)
    expect(errorOf(await gateway.direct("cold", [soon]), soon)).toBeInstanceOf(UpstreamBudgetExhaustedError);
  });

  it("keeps a call past its start-by first while it waits, and lets it go when it gives up", async () => {
    const { url } = await simulator();
    const key = `${prefix}:budget:first`;
    const budget = await drainedBudget(key);
    const [late] = demoMints(1, `first-${prefix}`) as [string];
    const kept: number[] = [];
    const { gateway } = gatewayTo(url, {
      budget,
      urgentAt: () => Date.now() - 1_000,
      // it may wait 1.5 s: refused once, it sleeps a token's time while kept first, then gets it
      settings: { maxWaitMs: 1_500 },
    });
    const asked = gateway.direct("hot", [late]);
    await sleep(300);
    kept.push(await redis.zcard(`${key}:first`));
    expect(pairsOf(await asked, late).length).toBeGreaterThan(0);
    kept.push(await redis.zcard(`${key}:first`));
    expect(kept).toEqual([1, 0]);
    // one that cannot wait long enough gives up and leaves the set at once, not a grace later
    const { gateway: hasty } = gatewayTo(url, { budget, urgentAt: () => Date.now() - 1_000 });
    expect(errorOf(await hasty.direct("hot", [late]), late)).toBeInstanceOf(UpstreamBudgetExhaustedError);
    expect(await redis.zcard(`${key}:first`)).toBe(0);
  });

  it.each([
    [0, "after the late call that asked before it"],
    [EXPORTED_HEAD_START_MS, "before it, with an exported token's head start"],
  ])("serves a late call with a head start of %i ms %s", async (headStart) => {
    const { url } = await simulator();
    const budget = await drainedBudget(`${prefix}:budget:head-start-${headStart}`);
    // a late cold call asks first and keeps asking until it gets the next token it is due
    let coldAt: number | null = null;
    const cold = (async () => {
      while (coldAt === null) {
        if ((await budget.take("cold", "cold-at-its-deadline")).granted) coldAt = Date.now();
        else await sleep(50);
      }
    })();
    await sleep(20);
    const [exported] = demoMints(1, `head-${headStart}-${prefix}`) as [string];
    const { gateway } = gatewayTo(url, {
      budget,
      urgentAt: () => Date.now() - 1_000,
      firstHeadStartMs: (_lane, mints) => (mints.includes(exported) ? headStart : 0),
      // a token's time and a half: enough for the next token, not for the one after
      settings: { maxWaitMs: 1_500 },
    });
    const result = await gateway.direct("hot", [exported]);
    const doneAt = Date.now();
    await cold;
    if (headStart === 0) {
      // behind the cold call: it took the token, and this one gave up at its deadline
      expect(errorOf(result, exported)).toBeInstanceOf(UpstreamBudgetExhaustedError);
      expect(coldAt!).toBeLessThan(doneAt);
    } else {
      // ahead of it: this one took the token, and the cold call the one after
      expect(pairsOf(result, exported).length).toBeGreaterThan(0);
      expect(coldAt!).toBeGreaterThan(doneAt);
    }
  });
});
