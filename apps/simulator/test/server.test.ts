import { latestPairsSchema, pairsSchema } from "@moonfleet/scoring";
import type { PairInput } from "@moonfleet/scoring";
import { describe, expect, it } from "vitest";
import { MarketClock, SettingsValidationError, demoMints, marketProfile, pairsFor } from "../src/index.js";
import { getJson, sendJson, startSimulator } from "./support.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const mints = demoMints(40);
const withMarket = mints.filter((mint) => marketProfile(mint).kind !== "dead");

describe("data endpoints", () => {
  it("answers /tokens/v1 with the pairs of every requested mint, in the real shape", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    const batch = mints.slice(0, 30);
    const { status, body } = await getJson(`${url}/tokens/v1/solana/${batch.join(",")}`);
    expect(status).toBe(200);
    const pairs = pairsSchema.parse(body);
    expect(body).toEqual(batch.flatMap((mint) => pairsFor(mint, T0)));
    expect(new Set(pairs.map((p) => p.baseToken.address))).toEqual(new Set(batch));
  });

  it("answers /token-pairs/v1 and /latest/dex/tokens", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    const mint = mints[0] ?? "";
    const one = await getJson(`${url}/token-pairs/v1/solana/${mint}`);
    expect(one.status).toBe(200);
    expect(pairsSchema.parse(one.body).length).toBeGreaterThan(0);
    expect(one.body).toEqual(pairsFor(mint, T0));

    const latest = await getJson(`${url}/latest/dex/tokens/${mints.slice(0, 3).join(",")}`);
    expect(latest.status).toBe(200);
    expect(latestPairsSchema.parse(latest.body).schemaVersion).toBe("1.0.0");
    expect((latest.body as { pairs: unknown[] }).pairs).toEqual(
      mints.slice(0, 3).flatMap((m) => pairsFor(m, T0)),
    );

    const none = await getJson(`${url}/latest/dex/tokens/not-a-mint`);
    expect(none.body).toEqual({ schemaVersion: "1.0.0", pairs: null });
  });

  it("rejects more than 30 addresses with a JSON 400 and answers [] for an unknown chain", async () => {
    const { url } = await startSimulator();
    const tooMany = await getJson(`${url}/tokens/v1/solana/${demoMints(31).join(",")}`);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body).toMatchObject({ error: expect.stringContaining("30") as unknown });
    expect((await getJson(`${url}/latest/dex/tokens/${demoMints(31).join(",")}`)).status).toBe(400);
    const ethereum = await getJson(`${url}/tokens/v1/ethereum/${mints[0] ?? ""}`);
    expect(ethereum).toEqual({ status: 200, body: [] });
  });

  it("is deterministic at a frozen clock and moves when the clock moves", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    const path = `${url}/tokens/v1/solana/${withMarket.slice(0, 10).join(",")}`;
    const first = await getJson(path);
    expect((await getJson(path)).body).toEqual(first.body);
    await sendJson(`${url}/admin/settings`, "PATCH", { frozenAt: T0 + 60_000 });
    const later = await getJson(path);
    expect(later.body).not.toEqual(first.body);
    expect(later.body).toEqual(withMarket.slice(0, 10).flatMap((m) => pairsFor(m, T0 + 60_000)));
  });

  it("runs the market clock from the injected real clock at timeScale", async () => {
    let real = T0;
    const { sim, url } = await startSimulator({ now: () => real, settings: { timeScale: 10 } });
    real += 1_000;
    expect(sim.marketNow()).toBe(T0 + 10_000);
    const mint = withMarket[0] ?? "";
    expect((await getJson(`${url}/token-pairs/v1/solana/${mint}`)).body).toEqual(pairsFor(mint, T0 + 10_000));
  });
});

describe("MarketClock", () => {
  it("scales, freezes and resumes without jumps", () => {
    let real = 1_000_000;
    const clock = new MarketClock(() => real, { timeScale: 1, frozenAt: null });
    real += 500;
    expect(clock.now()).toBe(1_000_500);
    clock.configure({ timeScale: 4, frozenAt: null });
    real += 100;
    expect(clock.now()).toBe(1_000_900);
    clock.configure({ timeScale: 4, frozenAt: 5_000 });
    real += 100;
    expect(clock.now()).toBe(5_000);
    clock.configure({ timeScale: 4, frozenAt: null });
    real += 10;
    expect(clock.now()).toBe(5_040);
  });
});

describe("overrides", () => {
  const mint = mints[1] ?? "";
  const custom: PairInput[] = [
    {
      chainId: "solana",
      dexId: "orca",
      pairAddress: "CustomPair1111111111111111111111111111111111",
      baseToken: { address: mint, symbol: "TEST" },
      quoteToken: { symbol: "SOL" },
      priceUsd: "0.5",
      liquidity: { usd: 1234 },
    },
  ];

  it("serves explicit pairs exactly as given, and the model again after DELETE", async () => {
    const { url } = await startSimulator({ settings: { frozenAt: T0 } });
    expect((await sendJson(`${url}/admin/markets/${mint}`, "PUT", { pairs: custom })).status).toBe(200);
    expect((await getJson(`${url}/token-pairs/v1/solana/${mint}`)).body).toEqual(custom);
    expect((await getJson(`${url}/tokens/v1/solana/${mint}`)).body).toEqual(custom);
    const view = await getJson(`${url}/admin/markets/${mint}`);
    expect(view.body).toMatchObject({ mint, source: "override-pairs", pairs: custom });

    expect((await getJson(`${url}/admin/markets/${mint}`, { method: "DELETE" })).body).toEqual({
      deleted: true,
    });
    expect((await getJson(`${url}/token-pairs/v1/solana/${mint}`)).body).toEqual(pairsFor(mint, T0));
  });

  it("forces a profile kind; dead means no pairs", async () => {
    const { sim, url } = await startSimulator({ settings: { frozenAt: T0 } });
    expect((await sendJson(`${url}/admin/markets/${mint}`, "PUT", { profile: "dead" })).status).toBe(200);
    expect((await getJson(`${url}/tokens/v1/solana/${mint}`)).body).toEqual([]);
    sim.setOverride(mint, { profile: "active" });
    const view = await getJson(`${url}/admin/markets/${mint}`);
    expect(view.body).toMatchObject({ source: "override-profile", profile: { kind: "active" } });
    sim.clearOverrides();
    expect((await getJson(`${url}/admin/markets/${mint}`)).body).toMatchObject({ source: "model" });
    expect((await sendJson(`${url}/admin/markets/${mint}`, "PUT", { profile: "nope" })).status).toBe(400);
  });
});

describe("faults", () => {
  const path = (url: string) => `${url}/tokens/v1/solana/${withMarket.slice(0, 5).join(",")}`;

  it("answers 429 with Retry-After over the per-minute limit, in a sliding window", async () => {
    let real = T0;
    const { sim, url } = await startSimulator({ now: () => real, settings: { rateLimitRpm: 3 } });
    for (let i = 0; i < 3; i++) {
      expect((await fetch(path(url))).status).toBe(200);
      real += 10_000;
    }
    const limited = await fetch(path(url));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    real += 30_000;
    expect((await fetch(path(url))).status).toBe(200);
    expect((await fetch(path(url))).status).toBe(429);
    expect(sim.stats().rateLimited).toBe(2);
  });

  it("answers 503 to every data request in an outage, but admin still works", async () => {
    const { url } = await startSimulator({ settings: { outage: true } });
    expect((await fetch(path(url))).status).toBe(503);
    expect((await fetch(`${url}/token-pairs/v1/solana/${mints[0] ?? ""}`)).status).toBe(503);
    expect((await fetch(`${url}/admin/settings`)).status).toBe(200);
  });

  it("answers 500 with errorRate 1", async () => {
    const { url } = await startSimulator({ settings: { errorRate: 1 } });
    expect((await fetch(path(url))).status).toBe(500);
  });

  it("answers bodies that are not valid JSON or have the wrong shape with malformedRate 1", async () => {
    // Rolls: malformed? (always below 1), then the variant: 0.1 invalid JSON, 0.9 wrong shape.
    const rolls = [0.1, 0.1, 0.1, 0.9];
    let i = 0;
    const { url } = await startSimulator({
      settings: { malformedRate: 1 },
      random: () => rolls[i++ % 4] ?? 0,
    });
    const invalid = await fetch(path(url));
    expect(invalid.status).toBe(200);
    const text = await invalid.text();
    expect(() => JSON.parse(text) as unknown).toThrow();
    const wrong = await (await fetch(path(url))).json();
    expect(pairsSchema.safeParse(wrong).success).toBe(false);
    await fetch(`${url}/latest/dex/tokens/${mints[0] ?? ""}`).then((r) => r.text());
    const wrongLatest = await (await fetch(`${url}/latest/dex/tokens/${mints[0] ?? ""}`)).json();
    expect(latestPairsSchema.safeParse(wrongLatest).success).toBe(false);
  });

  it("leaves mints out of the batch endpoints only with omitRate", async () => {
    const { sim, url } = await startSimulator({ settings: { omitRate: 1 } });
    expect((await getJson(path(url))).body).toEqual([]);
    expect((await getJson(`${url}/latest/dex/tokens/${withMarket[0] ?? ""}`)).body).toEqual({
      schemaVersion: "1.0.0",
      pairs: null,
    });
    const fallback = await getJson(`${url}/token-pairs/v1/solana/${withMarket[0] ?? ""}`);
    expect(pairsSchema.parse(fallback.body).length).toBeGreaterThan(0);
    expect(sim.stats().omitted).toBe(6);
  });

  it("holds a request open with hangRate 1 until the client's AbortSignal cuts it", async () => {
    const { sim, url } = await startSimulator({ settings: { hangRate: 1, hangMs: 60_000 } });
    const started = Date.now();
    await expect(fetch(path(url), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(sim.stats().hung).toBe(1);
    // close() also ends a request that is still hanging.
    const pending = fetch(path(url));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await sim.close();
    await expect(pending).rejects.toThrow();
  });

  it("delays answers by the latency without blocking other requests", async () => {
    const { url } = await startSimulator({ settings: { latencyMs: 1_000, jitterMs: 0 } });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(path(url))));
    const elapsed = Date.now() - started;
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    // Five waits in a row would take 5 s; side by side they take about one (wide margin: not a speed test).
    expect(elapsed).toBeLessThan(4_000);
  });
});

describe("admin", () => {
  it("merges valid settings and rejects bad ones with a 400 and the issues", async () => {
    const { sim, url } = await startSimulator({ settings: { errorRate: 0.25 } });
    const ok = await sendJson(`${url}/admin/settings`, "PATCH", { latencyMs: 5 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      latencyMs: 5,
      errorRate: 0.25,
      hangMs: 60_000,
      timeScale: 1,
      frozenAt: null,
    });
    for (const bad of [
      { errorRate: 2 },
      { latencyMs: -1 },
      { outage: "yes" },
      { latencyMss: 1 },
      { timeScale: 0 },
    ]) {
      const answer = await sendJson(`${url}/admin/settings`, "PATCH", bad);
      expect(answer.status).toBe(400);
      expect((answer.body as { issues: unknown[] }).issues.length).toBeGreaterThan(0);
    }
    const broken = await fetch(`${url}/admin/settings`, {
      method: "PATCH",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(broken.status).toBe(400);
    expect((await getJson(`${url}/admin/settings`)).body).toEqual(sim.settings.get());
    expect(sim.settings.get()).toMatchObject({ latencyMs: 5, errorRate: 0.25 });
    expect(() => sim.settings.update({ omitRate: -1 })).toThrow(SettingsValidationError);
  });

  it("has the documented defaults", async () => {
    const { createSimulator } = await import("../src/index.js");
    expect(createSimulator().settings.get()).toEqual({
      latencyMs: 80,
      jitterMs: 40,
      errorRate: 0,
      rateLimitRpm: 300,
      rateLimitWindowMs: 60_000,
      outage: false,
      hangRate: 0,
      hangMs: 60_000,
      malformedRate: 0,
      omitRate: 0,
      frozenAt: null,
      timeScale: 1,
      migrationsPerMinute: 6,
      junkRate: 0,
      answerPings: true,
    });
  });

  it("serves demo mints and validates the count", async () => {
    const { url } = await startSimulator();
    expect((await getJson(`${url}/admin/demo-mints?count=5`)).body).toEqual({ mints: demoMints(5) });
    expect((await getJson(`${url}/admin/demo-mints?count=3&seed=x`)).body).toEqual({
      mints: demoMints(3, "x"),
    });
    expect(((await getJson(`${url}/admin/demo-mints`)).body as { mints: string[] }).mints).toHaveLength(500);
    for (const count of ["0", "100001", "abc", "1.5"]) {
      expect((await getJson(`${url}/admin/demo-mints?count=${count}`)).status).toBe(400);
    }
    expect((await getJson(`${url}/livez`)).status).toBe(200);
  });

  it("counts data requests by endpoint and status, per second, and resets", async () => {
    let real = T0 + 500;
    const { sim, url } = await startSimulator({ now: () => real, settings: { rateLimitRpm: 2 } });
    await fetch(`${url}/tokens/v1/solana/${mints.slice(0, 3).join(",")}`);
    await fetch(`${url}/token-pairs/v1/solana/${mints[0] ?? ""}`);
    real += 2_000;
    await fetch(`${url}/latest/dex/tokens/${mints.slice(0, 2).join(",")}`);
    await fetch(`${url}/admin/settings`);
    const stats = (await getJson(`${url}/admin/stats`)).body as ReturnType<typeof sim.stats>;
    expect(stats).toMatchObject({
      requests: 3,
      byEndpoint: { tokens: 1, tokenPairs: 1, latestTokens: 1 },
      byStatus: { "200": 2, "429": 1 },
      rateLimited: 1,
      mintsRequested: 6,
      lastMinuteRequests: 3,
      startedAt: T0 + 500,
    });
    expect(stats.perSecond).toHaveLength(120);
    expect(stats.perSecond.at(-1)).toEqual({ t: T0 + 2_000, n: 1 });
    expect(stats.perSecond.at(-3)).toEqual({ t: T0, n: 2 });
    real += 61_000;
    expect(sim.stats().lastMinuteRequests).toBe(0);
    const reset = await sendJson(`${url}/admin/stats/reset`, "POST", {});
    expect(reset.body).toMatchObject({ requests: 0, byStatus: {}, mintsRequested: 0 });
  });
});
