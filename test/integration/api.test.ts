import type { TokenStatus } from "@moonfleet/domain";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { computeMetrics, scoreBand, type Components } from "@moonfleet/scoring";
import { HISTORY_LENGTH, TokenStore, type TokenUpdate } from "@moonfleet/store";
import type { Redis } from "@moonfleet/queues";
import { createApiApp } from "../../apps/api/src/app.js";
import { demoMints } from "../../apps/simulator/src/index.js";
import { silentLogger, testLive, testRedis, uniquePrefix } from "../support/harness.js";

const ADMIN_TOKEN = "test-admin-token-0123456789";
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const JSON_HEADERS = { "content-type": "application/json" };
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

interface Api {
  readonly base: string;
  readonly store: TokenStore;
  readonly clock: { now: number };
  readonly stopping: { value: boolean };
  close(): Promise<void>;
}

const redises: Redis[] = [];

afterAll(async () => {
  await Promise.all(redises.map((r) => r.quit().catch(() => undefined)));
});

/** A real api on a loopback port, on its own key prefix, with an injected clock and stop flag. */
async function startApi(env: Record<string, string> = { ADMIN_TOKEN }): Promise<Api> {
  const redis = testRedis("api-test");
  redises.push(redis);
  const prefix = uniquePrefix();
  const store = new TokenStore(redis, prefix);
  const clock = { now: T0 };
  const stopping = { value: false };
  const app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ...env }, redis),
    redis,
    store,
    logger: silentLogger(),
    stopping: () => stopping.value,
    now: () => clock.now,
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    store,
    clock,
    stopping,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface Issue {
  readonly path: string;
  readonly message: string;
  readonly code: string;
}

/** Every field a response of this api may carry; the tests check which ones are there. */
interface Body {
  readonly error?: string;
  readonly issues?: readonly Issue[];
  readonly status?: string;
  readonly total?: number;
  readonly items?: ReadonlyArray<{ readonly mint: string } & Record<string, unknown>>;
  readonly added?: readonly string[];
  readonly existing?: readonly string[];
  readonly [field: string]: unknown;
}

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: Body;
}

/** One HTTP call. Whatever the request, the api never fails with a 5xx (503 is a deliberate "not ready") and never shows a stack trace. */
async function call(api: Api, path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(`${api.base}${path}`, init);
  const text = await res.text();
  let body: Body = {};
  try {
    body = JSON.parse(text) as Body;
  } catch {
    // not JSON (e.g. a 204): the tests read `text`
  }
  if (res.status !== 503) expect(res.status, `${init.method ?? "GET"} ${path}: ${text}`).toBeLessThan(500);
  expect(text).not.toMatch(/\n\s+at |node_modules|\.ts:\d+|\.js:\d+/);
  return { status: res.status, headers: res.headers, text, body };
}

const post = (api: Api, body: unknown, headers: Record<string, string> = AUTH) =>
  call(api, "/tokens", {
    method: "POST",
    headers: { ...JSON_HEADERS, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const del = (api: Api, mint: string, headers: Record<string, string> = AUTH) =>
  call(api, `/tokens/${encodeURIComponent(mint)}`, { method: "DELETE", headers });

const registered = async (api: Api) =>
  (await api.store.list({ limit: 100, offset: 0, sort: "score_desc" })).items.map((i) => i.token.mint).sort();

const COMPONENTS: Components = { txAccel: 0.4, volMomentum: 0.3, freshness: 0.2, orderflow: 0.1 };

/** What a worker would write for one token, built by hand so every score is known. */
function update(mint: string, status: TokenStatus, score: number, fetchedAt: number): TokenUpdate {
  const lane = status === "active" ? "hot" : status === "monitoring" ? "cold" : null;
  return {
    snapshot: {
      mint,
      name: `Name ${mint.slice(0, 4)}`,
      symbol: mint.slice(0, 3).toUpperCase(),
      status,
      lane,
      fetchedAt,
      score,
      smoothedScore: score,
      band: scoreBand(score),
      components: COMPONENTS,
      smoothed: COMPONENTS,
      metrics: computeMetrics({
        mint,
        pairs: [],
        createdAt: T0 - 3_600_000,
        now: fetchedAt,
        minLiquidityUsd: 0,
      }),
    },
    dueAt: fetchedAt + 15_000,
    lastGoodScoreAt: fetchedAt,
    activeSince: status === "active" ? fetchedAt : null,
  };
}

describe("POST /tokens", () => {
  let api: Api;
  const mints = demoMints(40, "api-post");
  const m = (i: number) => mints[i]!;

  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it("refuses a request without a token and stores nothing", async () => {
    const r = await post(api, { mint: m(0) }, {});
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(r.body.error).toEqual(expect.any(String));
    expect(await api.store.get(m(0))).toBeNull();
  });

  it.each([
    ["a wrong token", { authorization: "Bearer not-the-admin-token" }],
    ["the token with a suffix", { authorization: `Bearer ${ADMIN_TOKEN}x` }],
    ["basic auth", { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` }],
    ["an empty bearer", { authorization: "Bearer " }],
  ])("refuses %s and stores nothing", async (_, headers) => {
    const r = await post(api, { mint: m(0) }, headers);
    expect(r.status).toBe(401);
    expect(await api.store.get(m(0))).toBeNull();
  });

  it("refuses an anonymous request before reading its body", async () => {
    const r = await call(api, "/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(r.status).toBe(401);
  });

  it("registers one mint (201), then reports it as existing (200)", async () => {
    const first = await post(api, { mint: m(1) });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ added: [m(1)], existing: [] });
    expect((await api.store.get(m(1)))?.token.status).toBe("monitoring");

    const again = await post(api, { mint: m(1) });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ added: [], existing: [m(1)] });
  });

  it("registers many mints, as strings or as objects with createdAt", async () => {
    const createdAt = T0 - 7_200_000;
    const r = await post(api, {
      mints: [m(2), { mint: m(3), createdAt, name: "Three", symbol: "THR" }, m(4)],
    });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ added: [m(2), m(3), m(4)], existing: [] });
    const three = await api.store.get(m(3));
    expect(three?.token.createdAt).toBe(createdAt);
    expect(three?.token.name).toBe("Three");
    expect(three?.token.registeredAt).toBe(T0);

    const again = await post(api, { mints: [m(2), { mint: m(3) }, m(4)] });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ added: [], existing: [m(2), m(3), m(4)] });
  });

  it("answers 201 when some mints are new and some exist, listing each once", async () => {
    const r = await post(api, { mints: [m(2), m(5), m(5), { mint: m(5) }] });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({ added: [m(5)], existing: [m(2)] });
  });

  it.each([
    ["a character outside base58", (s: string) => `0${s.slice(1)}`],
    ["too short", (s: string) => s.slice(0, 20)],
    ["too long", (s: string) => `${s}${s}`],
    ["empty", () => ""],
  ])("rejects a batch with one mint %s, with its index, and stores none of it", async (_, spoil) => {
    const before = await registered(api);
    const batch = [m(10), m(11), spoil(m(12)), m(13)];
    const r = await post(api, { mints: batch });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/nothing was registered/);
    expect(r.body.issues?.map((i) => i.path)).toEqual(["mints.2"]);
    expect(r.body.issues?.[0]?.message).toMatch(/base58/);
    expect(await registered(api)).toEqual(before);
    for (const mint of [m(10), m(11), m(13)]) expect(await api.store.get(mint)).toBeNull();
  });

  it("rejects a bad mint inside an object entry, with its path", async () => {
    const before = await registered(api);
    const r = await post(api, { mints: [m(14), { mint: "not-a-mint", createdAt: T0 }] });
    expect(r.status).toBe(400);
    expect(r.body.issues).toEqual([expect.objectContaining({ path: "mints.1.mint" })]);
    expect(await registered(api)).toEqual(before);
    expect(await api.store.get(m(14))).toBeNull();
  });

  it.each([
    ["an unknown top-level field", () => ({ mint: m(15), extra: true })],
    ["an unknown field in an entry", () => ({ mints: [{ mint: m(15), decimals: 6 }] })],
    ["both mint and mints", () => ({ mint: m(15), mints: [m(16)] })],
    ["an empty list", () => ({ mints: [] })],
    ["an empty object", () => ({})],
    ["a bare array", () => [m(15)]],
    ["a numeric mint", () => ({ mint: 12345 })],
    ["a negative createdAt", () => ({ mints: [{ mint: m(15), createdAt: -5 }] })],
    ["a fractional createdAt", () => ({ mints: [{ mint: m(15), createdAt: 1.5 }] })],
    ["too many mints", () => ({ mints: demoMints(1_001, "api-too-many") })],
  ])("rejects %s with 400 and stores nothing", async (_, body) => {
    const before = await registered(api);
    const r = await post(api, body());
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual(expect.any(String));
    expect(r.body.issues?.length).toBeGreaterThan(0);
    expect(await registered(api)).toEqual(before);
  });

  it.each([
    ["a bare string", () => JSON.stringify(m(15))],
    ["null", () => "null"],
    ["a number", () => "42"],
  ])("rejects %s as a body with 400 and stores nothing", async (_, body) => {
    const before = await registered(api);
    const r = await post(api, body());
    expect(r.status).toBe(400);
    expect(r.body.error).toEqual(expect.any(String));
    expect(await registered(api)).toEqual(before);
  });

  it("rejects malformed JSON with a clear 400", async () => {
    const before = await registered(api);
    const r = await post(api, `{"mint": "${m(17)}"`);
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/not valid JSON/i);
    expect(await registered(api)).toEqual(before);
  });

  it("rejects a body that is not JSON at all", async () => {
    const r = await call(api, "/tokens", {
      method: "POST",
      headers: { ...AUTH, "content-type": "text/plain" },
      body: m(17),
    });
    expect(r.status).toBe(400);
    expect(await api.store.get(m(17))).toBeNull();
  });

  it("rejects a body that is too large with 413 and stores nothing", async () => {
    const before = await registered(api);
    const huge = JSON.stringify({ mints: Array.from({ length: 8_000 }, (_, i) => m(i % 40)) });
    expect(huge.length).toBeGreaterThan(256 * 1024);
    const r = await post(api, huge);
    expect(r.status).toBe(413);
    expect(r.body.error).toEqual(expect.any(String));
    expect(await registered(api)).toEqual(before);
  });
});

describe("admin endpoints without ADMIN_TOKEN", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi({});
  });
  afterAll(() => api.close());

  it("refuse every request, whatever the bearer", async () => {
    const [mint] = demoMints(1, "api-no-admin");
    for (const headers of [{}, { authorization: "Bearer " }, { authorization: "Bearer undefined" }, AUTH]) {
      const r = await post(api, { mint }, headers);
      expect(r.status).toBe(401);
      expect(r.body.error).toMatch(/ADMIN_TOKEN/);
    }
    expect(await api.store.get(mint!)).toBeNull();
  });
});

describe("GET /tokens query validation", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it.each([
    ["limit=0", "limit"],
    ["limit=101", "limit"],
    ["limit=abc", "limit"],
    ["limit=1.5", "limit"],
    ["limit=", "limit"],
    ["offset=-1", "offset"],
    ["offset=abc", "offset"],
    ["sort=bogus", "sort"],
    ["status=bogus", "status"],
    ["lane=x", "lane"],
    ["min_score=abc", "min_score"],
    ["min_score=", "min_score"],
    ["offset=", "offset"],
    ["min_score=1000", "min_score"],
    ["limit=5&limit=6", "limit"],
    ["sort=score_desc&sort=score_asc", "sort"],
    ["bogus=1", ""],
    ["minScore=0.5", ""],
  ])("rejects ?%s with 400 and its issue", async (query, path) => {
    const r = await call(api, `/tokens?${query}`);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("invalid query");
    expect(r.body.issues).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    for (const issue of r.body.issues ?? []) expect(issue.message).not.toBe("");
  });

  it("accepts the boundaries", async () => {
    for (const query of ["limit=1", "limit=100", "offset=0", "min_score=-100", "min_score=100"]) {
      const r = await call(api, `/tokens?${query}`);
      expect(r.status, query).toBe(200);
    }
  });
});

describe("GET /tokens and GET /tokens/:mint", () => {
  let api: Api;
  // a..e are scored, f never was; fetch times are ordered differently from scores.
  const [a, b, c, d, e, f] = demoMints(6, "api-list") as [string, string, string, string, string, string];
  const scored: Array<[string, TokenStatus, number, number]> = [
    [a, "active", 0.95, T0 + 1_000],
    [b, "active", 0.6, T0 + 5_000],
    [c, "monitoring", 0.8, T0 + 3_000],
    [d, "monitoring", 0.3, T0 + 4_000],
    [e, "archived", 0.5, T0 + 2_000],
  ];
  const list = async (query: string) => {
    const r = await call(api, `/tokens${query ? `?${query}` : ""}`);
    expect(r.status, query).toBe(200);
    const { total, items, meta } = r.body;
    expect(total).toEqual(expect.any(Number));
    expect(items).toEqual(expect.any(Array));
    return { total, items: items ?? [], meta };
  };
  const mintsOf = (page: { items: ReadonlyArray<{ readonly mint: string }> }) =>
    page.items.map((i) => i.mint);

  beforeAll(async () => {
    api = await startApi();
    api.clock.now = T0;
    expect((await post(api, { mints: [a, b, c, d, e, f] })).status).toBe(201);
    expect(
      await api.store.commit(scored.map(([mint, status, score, at]) => update(mint, status, score, at))),
    ).toBe(5);
    api.clock.now = T0 + 10_000;
  });
  afterAll(() => api.close());

  it("lists every token, scored ones by score and unscored ones with null scores", async () => {
    const page = await list("");
    expect(page.total).toBe(6);
    expect(mintsOf(page)).toEqual([a, c, b, e, d, f]);
    expect(page.meta).toEqual({
      limit: 50,
      offset: 0,
      sort: "score_desc",
      status: null,
      lane: null,
      minScore: null,
      q: null,
      band: null,
      generatedAt: new Date(T0 + 10_000).toISOString(),
    });

    const first = page.items[0]!;
    expect(first).toMatchObject({
      mint: a,
      status: "active",
      lane: "hot",
      score: 0.95,
      smoothedScore: 0.95,
      band: "bot-ready",
      fetchedAt: new Date(T0 + 1_000).toISOString(),
      stalenessSeconds: 9,
    });
    expect(page.items.find((i) => i.mint === e)).toMatchObject({
      status: "archived",
      lane: null,
      score: 0.5,
    });

    const unscored = page.items.find((i) => i.mint === f);
    expect(unscored).toMatchObject({
      mint: f,
      status: "monitoring",
      lane: "cold",
      score: null,
      smoothedScore: null,
      band: null,
      fetchedAt: null,
      stalenessSeconds: null,
      createdAt: new Date(T0).toISOString(),
    });
  });

  it("sorts by score ascending, listing scored tokens only (an unscored token has no score to order by)", async () => {
    const page = await list("sort=score_asc");
    expect(page.total).toBe(5);
    expect(mintsOf(page)).toEqual([d, e, b, c, a]);
    expect(mintsOf(page)).not.toContain(f);
  });

  it("sorts by last update, newest first", async () => {
    const page = await list("sort=updated_desc");
    expect(page.total).toBe(6);
    expect(mintsOf(page)).toEqual([b, d, c, e, a, f]);
  });

  it("pages with limit and offset, keeping the total", async () => {
    const page = await list("limit=2&offset=1");
    expect(page.total).toBe(6);
    expect(mintsOf(page)).toEqual([c, b]);
    expect(page.meta).toMatchObject({ limit: 2, offset: 1 });

    const past = await list("offset=10");
    expect(past.total).toBe(6);
    expect(past.items).toEqual([]);

    const updated = await list("sort=updated_desc&limit=2&offset=2");
    expect(mintsOf(updated)).toEqual([c, e]);
  });

  it.each([
    ["status=active", 2, [a, b]],
    ["lane=hot", 2, [a, b]],
    ["status=active&lane=hot", 2, [a, b]],
    ["status=monitoring", 3, [c, d, f]],
    ["lane=cold", 3, [c, d, f]],
    ["status=archived", 1, [e]],
    ["status=active&lane=cold", 0, []],
    ["status=archived&lane=hot", 0, []],
    ["min_score=0.55", 3, [a, c, b]],
    ["min_score=0.6", 3, [a, c, b]],
    ["min_score=0.55&sort=score_asc", 3, [b, c, a]],
    ["min_score=0.55&sort=updated_desc", 3, [b, c, a]],
    ["min_score=0.55&sort=updated_desc&offset=1&limit=1", 3, [c]],
    ["min_score=0.5&status=monitoring", 1, [c]],
    ["min_score=0.5&lane=hot&sort=updated_desc", 2, [b, a]],
    ["min_score=0.99", 0, []],
  ])("filters ?%s", async (query, total, mints) => {
    const page = await list(query);
    expect(page.total).toBe(total);
    expect(mintsOf(page)).toEqual(mints);
    for (const item of page.items) {
      if (query.includes("status=active") || query.includes("lane=hot")) expect(item.status).toBe("active");
      if (query.includes("min_score=")) expect(item.smoothedScore as number).toBeGreaterThanOrEqual(0.5);
    }
  });

  it("echoes the filters in meta", async () => {
    const page = await list("status=monitoring&lane=cold&min_score=0.25&sort=updated_desc&limit=3");
    expect(page.meta).toMatchObject({
      limit: 3,
      offset: 0,
      sort: "updated_desc",
      status: "monitoring",
      lane: "cold",
      minScore: 0.25,
    });
  });

  it("shows one token with its components and history, newest first", async () => {
    expect(await api.store.commit([update(a, "active", 0.92, T0 + 6_000)])).toBe(1);
    const r = await call(api, `/tokens/${a}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      mint: a,
      status: "active",
      lane: "hot",
      score: 0.92,
      band: "bot-ready",
      components: COMPONENTS,
      smoothed: COMPONENTS,
      registeredAt: new Date(T0).toISOString(),
      lastGoodScoreAt: new Date(T0 + 6_000).toISOString(),
      activeSince: new Date(T0 + 6_000).toISOString(),
    });
    expect(r.body.metrics).toMatchObject({ liquidityUsd: 0, pairCount: 0 });
    expect(r.body.history).toEqual([
      {
        t: new Date(T0 + 6_000).toISOString(),
        score: 0.92,
        smoothedScore: 0.92,
        status: "active",
        lane: "hot",
      },
      {
        t: new Date(T0 + 1_000).toISOString(),
        score: 0.95,
        smoothedScore: 0.95,
        status: "active",
        lane: "hot",
      },
    ]);
  });

  it("keeps the newest HISTORY_LENGTH history entries of a token, in Redis and in the answer", async () => {
    const [m] = demoMints(1, "api-history") as [string];
    await api.store.register([{ mint: m }], T0);
    const fetches = HISTORY_LENGTH + 7;
    for (let i = 1; i <= fetches; i++)
      expect(await api.store.commit([update(m, "monitoring", i / 100, T0 + i * 1_000)])).toBe(1);
    const redis = testRedis("api-history");
    redises.push(redis);
    expect(await redis.llen(api.store.keys.history(m))).toBe(HISTORY_LENGTH);
    const r = await call(api, `/tokens/${m}`);
    expect(r.status).toBe(200);
    const history = r.body.history as Array<{ t: string; score: number }>;
    expect(history).toHaveLength(HISTORY_LENGTH);
    expect(history.map((h) => h.score)).toEqual(
      Array.from({ length: HISTORY_LENGTH }, (_, i) => (fetches - i) / 100),
    );
    expect(history[0]!.t).toBe(new Date(T0 + fetches * 1_000).toISOString());
  });

  it("shows an unscored token with null components and no history", async () => {
    const r = await call(api, `/tokens/${f}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      mint: f,
      score: null,
      components: null,
      smoothed: null,
      metrics: null,
      history: [],
    });
  });

  it("answers 404 for an unknown mint and 400 for an invalid one", async () => {
    const [unknown] = demoMints(1, "api-unknown");
    const missing = await call(api, `/tokens/${unknown}`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual(expect.any(String));

    for (const bad of ["not-a-mint", "0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl0OIl", "abc"]) {
      const r = await call(api, `/tokens/${bad}`);
      expect(r.status, bad).toBe(400);
      expect(r.body.issues?.length).toBeGreaterThan(0);
    }
  });
});

describe("DELETE /tokens/:mint", () => {
  let api: Api;
  const [mint, other] = demoMints(2, "api-delete") as [string, string];

  beforeAll(async () => {
    api = await startApi();
    expect((await post(api, { mints: [mint, other] })).status).toBe(201);
    expect(await api.store.commit([update(mint, "active", 0.7, T0 + 1_000)])).toBe(1);
  });
  afterAll(() => api.close());

  it("refuses without a token or with a wrong one, and keeps the token", async () => {
    expect((await del(api, mint, {})).status).toBe(401);
    expect((await del(api, mint, { authorization: "Bearer wrong-token-wrong-token" })).status).toBe(401);
    expect(await api.store.get(mint)).not.toBeNull();
  });

  it("rejects an invalid mint with 400", async () => {
    const r = await del(api, "not-a-mint");
    expect(r.status).toBe(400);
  });

  it("removes the token (204), then answers 404", async () => {
    const r = await del(api, mint);
    expect(r.status).toBe(204);
    expect(r.text).toBe("");
    expect(await api.store.get(mint)).toBeNull();
    expect((await call(api, `/tokens/${mint}`)).status).toBe(404);

    const page = await call(api, "/tokens");
    expect(page.body.total).toBe(1);
    expect(page.body.items?.map((i) => i.mint)).toEqual([other]);
    expect((await call(api, "/tokens?status=active")).body.total).toBe(0);

    const again = await del(api, mint);
    expect(again.status).toBe(404);
    expect(await api.store.get(other)).not.toBeNull();
  });

  it("lets a removed token be registered again", async () => {
    const r = await post(api, { mint });
    expect(r.status).toBe(201);
    expect(r.body.added).toEqual([mint]);
  });
});

describe("probes and unknown routes", () => {
  let api: Api;
  beforeAll(async () => {
    api = await startApi();
  });
  afterAll(() => api.close());

  it("/livez answers 200", async () => {
    const r = await call(api, "/livez");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "ok" });
  });

  it("/readyz answers 200 while Redis answers, and 503 once stopping", async () => {
    const ready = await call(api, "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: "ready" });

    api.stopping.value = true;
    try {
      const stopping = await call(api, "/readyz");
      expect(stopping.status).toBe(503);
      expect(stopping.body.status).toBe("stopping");
      // Liveness is not readiness: a stopping process is still alive.
      expect((await call(api, "/livez")).status).toBe(200);
    } finally {
      api.stopping.value = false;
    }
  });

  it("answers 404 JSON for an unknown route", async () => {
    for (const [method, path] of [
      ["GET", "/nope"],
      ["PUT", "/tokens"],
      ["POST", "/tokens/x"],
    ] as const) {
      const r = await call(api, path, { method, headers: AUTH });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.body.error).toEqual(expect.any(String));
    }
  });
});
