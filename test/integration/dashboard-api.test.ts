import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Queue } from "bullmq";
import type express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TokenStatus } from "@moonfleet/domain";
import { bullPrefix, type Redis } from "@moonfleet/queues";
import { computeMetrics, scoreBand, weightedScore, type Components } from "@moonfleet/scoring";
import { TokenStore, type TokenUpdate } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { HISTORY_KEEP_MS, recordSample, type FleetSample } from "../../apps/api/src/history-sampler.js";
import { ROUTES, openApiPath } from "../../apps/api/src/openapi.js";
import { TOKEN_ROW_COLUMNS } from "../../apps/api/src/token-views.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { silentLogger, testLive, testRedis, uniquePrefix } from "../support/harness.js";

// GET /tokens' search, band filter and streamed exports; the token's score breakdown and jobs;
// the chart history; the OpenAPI document. One api over the suite's Redis, an injected clock.
const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const ADMIN_TOKEN = "test-admin-token-0123456789";
const clock = { now: T0 };
const prefix = uniquePrefix();
const mints = demoMints(30, "dash-api");
const m = (i: number) => mints[i]!;
let redis: Redis;
let store: TokenStore;
let app: express.Express;
let server: Server;
let base = "";
const closers: Array<() => Promise<void>> = [];

const RAW: Components = { txAccel: 1.2, volMomentum: 0.9, freshness: 0.35, orderflow: 0.1 };
const SMOOTHED: Components = { txAccel: 1.1, volMomentum: 0.7, freshness: 0.4, orderflow: 0.2 };

/** A token's snapshot with the given smoothed score (components fixed), symbol by index. */
function update(i: number, status: TokenStatus, smoothedScore: number, fetchedAt = T0 - 1_000): TokenUpdate {
  const mint = m(i);
  return {
    snapshot: {
      mint,
      name: `Token ${i}`,
      symbol: i < 3 ? `MOON${i}` : `T${i}`,
      status,
      lane: status === "active" ? "hot" : "cold",
      fetchedAt,
      score: weightedScore(RAW),
      smoothedScore,
      band: scoreBand(smoothedScore),
      components: RAW,
      smoothed: SMOOTHED,
      metrics: computeMetrics({ mint, pairs: [], createdAt: T0 - 3_600_000, now: T0, minLiquidityUsd: 0 }),
    },
    dueAt: T0 + 15_000,
    lastGoodScoreAt: T0,
    activeSince: status === "active" ? T0 : null,
  };
}

beforeAll(async () => {
  redis = testRedis("dashboard-api");
  store = new TokenStore(redis, prefix);
  app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN }, redis),
    redis,
    store,
    logger: silentLogger(),
    now: () => clock.now,
    onClose: (c) => closers.push(c),
  });
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await store.register(
    mints.map((mint) => ({ mint })),
    T0 - 60_000,
  );
  // Smoothed scores 0.0 .. 1.45 in steps of 0.05: every band is present.
  await store.commit(mints.map((_, i) => update(i, i % 2 ? "active" : "monitoring", i * 0.05)));
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  for (const c of closers) await c();
  await redis.quit();
});

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
};
const getJson = async (path: string) => {
  const r = await get(path);
  return {
    status: r.status,
    body: JSON.parse(r.text) as Record<string, unknown> & {
      total: number;
      items: Array<Record<string, unknown>>;
    },
  };
};

describe("GET /tokens: search, band and exports", () => {
  it("finds tokens by symbol prefix in any case and by mint prefix", async () => {
    const bySymbol = await getJson("/tokens?q=moon&limit=10");
    expect(bySymbol.status).toBe(200);
    expect(bySymbol.body.total).toBe(3);
    expect(bySymbol.body.items.map((t) => t.symbol).sort()).toEqual(["MOON0", "MOON1", "MOON2"]);

    const byMint = await getJson(`/tokens?q=${m(17).slice(0, 12)}`);
    expect(byMint.body.items.map((t) => t.mint)).toContain(m(17));
    expect(byMint.body.total).toBeLessThan(3);
    expect((await getJson("/tokens?q=nothing-like-it")).body.total).toBe(0);
  });

  it("filters by band over the whole registry, with paging", async () => {
    const expected = mints.filter((_, i) => scoreBand(i * 0.05) === "watch");
    const first = await getJson("/tokens?band=watch&limit=2&offset=0");
    const rest = await getJson("/tokens?band=watch&limit=100&offset=2");
    expect(first.body.total).toBe(expected.length);
    const seen = [...first.body.items, ...rest.body.items];
    expect(seen.map((t) => t.mint).sort()).toEqual([...expected].sort());
    expect(seen.every((t) => t.band === "watch")).toBe(true);
    const none = await getJson("/tokens?band=none&limit=100&lane=hot");
    expect(none.body.items.every((t) => t.band === "none" && t.lane === "hot")).toBe(true);
    expect(none.body.total).toBe(mints.filter((_, i) => i % 2 === 1 && i * 0.05 < 0.5).length);
    expect((await getJson("/tokens?band=great")).status).toBe(400);
  });

  it("streams every matching token as NDJSON and as CSV", async () => {
    const nd = await get("/tokens?format=ndjson&min_score=0.5");
    expect(nd.status).toBe(200);
    expect(nd.type).toMatch(/^application\/x-ndjson/);
    const rows = nd.text
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { mint: string; smoothedScore: number });
    expect(rows).toHaveLength(mints.filter((_, i) => i * 0.05 >= 0.5 - 1e-9).length);
    const scores = rows.map((r) => r.smoothedScore);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const csv = await get("/tokens?format=csv&q=MOON");
    expect(csv.type).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split("\n");
    expect(lines[0]).toBe(TOKEN_ROW_COLUMNS.join(","));
    expect(lines).toHaveLength(4);
  });

  it("writes numbers without float noise", async () => {
    await store.commit([update(29, "active", 0.1 + 0.2, T0 - 500)]);
    const r = await get(`/tokens/${m(29)}`);
    expect(r.text).toContain('"smoothedScore":0.3,');
    expect(r.text).not.toMatch(/\d\.\d{13,}/);
    const nd = await get("/tokens?format=ndjson&q=T29");
    expect(nd.text).toContain('"smoothedScore":0.3,');
  });

  it("every row column is in the CSV header", async () => {
    const { body } = await getJson("/tokens?limit=1");
    expect(Object.keys(body.items[0]!).sort()).toEqual([...TOKEN_ROW_COLUMNS].sort());
  });
});

describe("GET /tokens/:mint and its jobs", () => {
  it("breaks the score into weighted components that sum to the smoothed score", async () => {
    await store.commit([update(5, "active", weightedScore(SMOOTHED), T0 - 500)]);
    const { body } = await getJson(`/tokens/${m(5)}`);
    const b = body.breakdown as {
      parts: Array<{
        weight: number;
        smoothed: number;
        smoothedContribution: number;
        rawContribution: number;
      }>;
      smoothedScore: number;
      rawScore: number;
      bandFloors: Record<string, number>;
    };
    expect(b.parts).toHaveLength(4);
    const sum = b.parts.reduce((a, p) => a + p.smoothedContribution, 0);
    expect(sum).toBeCloseTo(body.smoothedScore as number, 9);
    expect(b.parts.reduce((a, p) => a + p.rawContribution, 0)).toBeCloseTo(body.score as number, 9);
    expect(b.bandFloors).toEqual({ "bot-ready": 0.9, watch: 0.7, low: 0.5 });
    expect(body.nextDueAt).toBe(new Date(T0 + 15_000).toISOString());
  });

  it("finds the jobs whose batch carries the mint, with their Bull Board links", async () => {
    const queue = new Queue("hot", { connection: redis, prefix: bullPrefix(prefix) });
    await queue.add("hot 2 mints", { lane: "hot", mints: [m(7), m(8)], claimedAt: T0 });
    await queue.add("hot 1 mint", { lane: "hot", mints: [m(9)], claimedAt: T0 });
    await queue.close();
    const { body } = await getJson(`/tokens/${m(8)}/jobs`);
    const jobs = body.jobs as Array<{ name: string; url: string; queue: string; state: string }>;
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ name: "hot 2 mints", queue: "hot", state: "waiting" });
    expect(jobs[0]!.url).toMatch(/^\/admin\/queues\/queue\/hot\/\w+$/);
  });
});

describe("GET /fleet/history", () => {
  const sample = (t: number, tps: number): FleetSample => ({
    t,
    tokensPerSecond: { hot: tps, cold: tps / 2 },
    staleness: { hot: { p50: 1, p95: 2, ttl: 15 }, cold: { p50: 3, p95: 4, ttl: 30 } },
    concurrency: { hot: 2, cold: 2 },
    waitingJobs: { hot: 0, cold: 0 },
    workers: 1,
    budget: { limitPerMinute: 240, minute: Math.floor(t / 60_000), thisMinute: 10, last60s: 20 },
  });

  it("keeps one sample per slot, trims past 24 h, and answers a range", async () => {
    const slot = Math.floor(T0 / 10_000) * 10_000;
    // Two replicas writing the same slot: one sample stays.
    const writes = await Promise.all([
      recordSample(redis, prefix, sample(slot, 1)),
      recordSample(redis, prefix, sample(slot, 2)),
    ]);
    expect(writes.filter(Boolean)).toHaveLength(1);
    for (let i = 1; i <= 120; i++) await recordSample(redis, prefix, sample(slot - i * 10_000, i));
    // An old one, then a newer write trims it.
    await recordSample(redis, prefix, sample(slot - HISTORY_KEEP_MS - 60_000, 9));
    await recordSample(redis, prefix, sample(slot + 10_000, 3));
    expect(await redis.zcount(store.keys.fleetHistory, "-inf", slot - HISTORY_KEEP_MS - 1)).toBe(0);

    const q15 = await getJson("/fleet/history?range=15m");
    const samples = q15.body.samples as FleetSample[];
    expect(samples.length).toBeGreaterThanOrEqual(90);
    expect(samples.length).toBeLessThanOrEqual(92);
    expect(samples.map((s) => s.t)).toEqual([...samples.map((s) => s.t)].sort((a, b) => a - b));
    const h1 = await getJson("/fleet/history?range=1h");
    expect((h1.body.samples as unknown[]).length).toBe(122);
    expect((await getJson("/fleet/history?range=2d")).status).toBe(400);
  });
});

describe("the api's history sampler", () => {
  it("writes a sample of the fleet's figures while the api runs", async () => {
    const own = uniquePrefix();
    const stop = new AbortController();
    const closing: Array<() => Promise<void>> = [];
    createApiApp({
      live: testLive({ REDIS_KEY_PREFIX: own }, redis),
      redis,
      store: new TokenStore(redis, own),
      logger: silentLogger(),
      signal: stop.signal,
      onClose: (c) => closing.push(c),
    });
    try {
      const key = new TokenStore(redis, own).keys.fleetHistory;
      await expect.poll(() => redis.zcard(key), { timeout: 10_000 }).toBe(1);
      const [raw] = await redis.zrange(key, 0, 0);
      const sample = JSON.parse(raw!) as FleetSample;
      expect(sample.t % 10_000).toBe(0);
      expect(sample.staleness.hot.ttl).toBe(15);
      expect(sample.budget.limitPerMinute).toBe(240);
    } finally {
      stop.abort();
      for (const c of closing) await c();
    }
  });
});

describe("the OpenAPI document", () => {
  /** Every method and path the app's router answers, from Express's own stack. */
  function routesOf(router: { stack: unknown[] }, mount = ""): string[] {
    const out: string[] = [];
    for (const layer of router.stack as Array<{
      route?: { path: string; methods: Record<string, boolean> };
      handle: { stack?: unknown[] };
      rawPath?: unknown;
    }>) {
      if (layer.route)
        for (const method of Object.keys(layer.route.methods))
          out.push(`${method} ${mount}${layer.route.path}`);
      else if (layer.handle.stack) {
        const at = typeof layer.rawPath === "string" && layer.rawPath !== "/" ? layer.rawPath : "";
        out.push(...routesOf(layer.handle as { stack: unknown[] }, mount + at));
      }
    }
    return out;
  }

  it("is a valid OpenAPI 3.1 document that lists every route of the app", async () => {
    const { status, body } = await getJson("/openapi.json");
    expect(status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(body);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");

    const paths = body.paths as Record<string, Record<string, unknown>>;
    const routes = routesOf((app as unknown as { router: { stack: unknown[] } }).router);
    expect(routes.length).toBeGreaterThan(20);
    const missing = routes.filter((r) => {
      const [method, path] = r.split(" ") as [string, string];
      return paths[openApiPath(path)]?.[method] === undefined;
    });
    expect(missing).toEqual([]);
    // The query parameters come from the schema GET /tokens validates with.
    const params = (paths["/tokens"]!.get as { parameters: Array<{ name: string }> }).parameters.map(
      (p) => p.name,
    );
    expect(params).toEqual(expect.arrayContaining(["q", "band", "format", "limit", "min_score"]));
    expect(ROUTES.length).toBeGreaterThanOrEqual(routes.length);
  });

  it("Bull Board's page and every answer name no other host to load from", async () => {
    const res = await fetch(`${base}/admin/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('"miscLinks"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(res.headers.get("content-security-policy")).not.toMatch(/https?:/);
  });

  it("renders at /docs from files served by the api", async () => {
    const page = await get("/docs");
    expect(page.status).toBe(200);
    expect(page.text).toContain("/vendor/swagger-ui/swagger-ui-bundle.js");
    expect((await get("/vendor/swagger-ui/swagger-ui-bundle.js")).status).toBe(200);
  });
});
