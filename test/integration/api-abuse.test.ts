import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { appRoutes } from "@bull-board/api/dist/routes.js";
import { Queue } from "bullmq";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUNTIME_KEYS, readOverrides, updateOptimizationConfig } from "@moonfleet/config";
import { bullPrefix, createRedis, type Redis } from "@moonfleet/queues";
import { computeMetrics, decodeBase58, scoreBand } from "@moonfleet/scoring";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { freePort } from "../../apps/launcher/src/free-port.js";
import { demoMints, encodeBase58 } from "../../apps/simulator/src/index.js";
import { silentLogger, testLive, testRedis, testResolved, uniquePrefix } from "../support/harness.js";

// The api as someone who should not be there sees it: every mutating endpoint wants the admin
// token, bodies are bounded, no answer shows a stack trace, and fuzzed requests never get a 5xx.

const ADMIN_TOKEN = "abuse-admin-token-0123456789abcdef";
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

/** The token with one character changed at `i` (same length, so only the content differs). */
const flip = (token: string, i: number) => {
  const at = i < 0 ? token.length + i : i;
  return `${token.slice(0, at)}${token[at] === "x" ? "y" : "x"}${token.slice(at + 1)}`;
};

/**
 * Bearer values that must all be refused. admin-auth.ts compares in constant time by review: it
 * hashes both the given and the expected token to 32-byte SHA-256 digests and compares those with
 * crypto.timingSafeEqual, so the time depends neither on where the first wrong character is nor on
 * the given length; Basic logins compare user and password both, without short-circuiting. The
 * behaviour checked here is that a near miss at either end is refused like any other.
 */
const WRONG_BEARERS: ReadonlyArray<readonly [string, Record<string, string>]> = [
  ["no credentials", {}],
  ["a wrong token", { authorization: "Bearer not-the-admin-token-at-all-000" }],
  ["the token with its last character changed", { authorization: `Bearer ${flip(ADMIN_TOKEN, -1)}` }],
  ["the token with its first character changed", { authorization: `Bearer ${flip(ADMIN_TOKEN, 0)}` }],
  ["the token without its last character", { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` }],
  ["the token in upper case", { authorization: `Bearer ${ADMIN_TOKEN.toUpperCase()}` }],
  ["the token with a latin-1 last character", { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}\u00e9` }],
  ["the token without the Bearer scheme", { authorization: ADMIN_TOKEN }],
  ["the token in another header", { "x-admin-token": ADMIN_TOKEN }],
];

/** For Bull Board, which also takes HTTP Basic with the token as the password. */
const WRONG_LOGINS: ReadonlyArray<readonly [string, Record<string, string>]> = [
  ...WRONG_BEARERS,
  [
    "Basic with the password's last character changed",
    { authorization: basic("admin", flip(ADMIN_TOKEN, -1)) },
  ],
  [
    "Basic with the password's first character changed",
    { authorization: basic("admin", flip(ADMIN_TOKEN, 0)) },
  ],
  ["Basic with the user's last character changed", { authorization: basic("admix", ADMIN_TOKEN) }],
];

interface Api {
  readonly base: string;
  readonly prefix: string;
  readonly redis: Redis;
  readonly store: TokenStore;
}

const redises: Redis[] = [];
const closers: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await Promise.all(redises.map((r) => r.quit().catch(() => r.disconnect())));
});

/** A real api in this process on a loopback port; what it opens is closed in afterAll. */
async function startApi(redis: Redis, prefix = uniquePrefix()): Promise<Api> {
  const env = { ADMIN_TOKEN };
  const store = new TokenStore(redis, prefix);
  const app = createApiApp({
    live: testLive({ REDIS_KEY_PREFIX: prefix, ...env }, redis),
    redis,
    store,
    logger: silentLogger(),
    onClose: (close) => closers.push(close),
  });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, prefix, redis, store };
}

/** Stack frames, source paths (this checkout's included) and error class names: none may reach a client. */
const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const STACK_TRACE = new RegExp(
  `\\n\\s+at |\\bat \\S+ \\(|node_modules|${ROOT}|file://|\\.[cm]?[jt]s:\\d+|\\b\\w*Error:|ZodError`,
);

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: unknown;
}

async function call(api: Api, path: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(`${api.base}${path}`, init);
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON (204, /metrics): the checks read `text`
  }
  expect(text, `${init.method ?? "GET"} ${path}`).not.toMatch(STACK_TRACE);
  return { status: res.status, headers: res.headers, text, json };
}

const errorOf = (r: Reply) => (r.json as { error?: unknown } | undefined)?.error;
const registered = async (api: Api) => (await api.store.counts(Date.now())).registered;
/** The runtime overrides stored for the api's fleet: what PATCH /config changes. */
const overrides = (api: Api) => readOverrides({ redis: api.redis, prefix: api.prefix });

describe("admin endpoints refuse anyone without the admin token", () => {
  let api: Api;
  let queue: Queue;
  let jobId: string;
  const [kept, fresh] = demoMints(2, "abuse-auth") as [string, string];

  beforeAll(async () => {
    const redis = testRedis("api-abuse");
    redises.push(redis);
    const prefix = uniquePrefix();
    // An override for DELETE /config/overrides to (not) clear.
    const base = testResolved({ REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN });
    await updateOptimizationConfig({ timeoutCold: 4 }, { redis, prefix, base });
    api = await startApi(redis, prefix);
    expect(
      (
        await call(api, "/tokens", {
          method: "POST",
          headers: { ...AUTH, "content-type": "application/json" },
          body: JSON.stringify({ mint: kept }),
        })
      ).status,
    ).toBe(201);
    // A waiting job for Bull Board's job actions to (not) touch.
    queue = new Queue("hot", { connection: redis, prefix: bullPrefix(api.prefix) });
    closers.push(() => queue.close());
    jobId = (await queue.add("batch", { lane: "hot", mints: [kept], claimedAt: Date.now() })).id!;
  });

  const JSON_ENDPOINTS = () => [
    { method: "POST", path: "/tokens", body: JSON.stringify({ mint: fresh }) },
    { method: "DELETE", path: `/tokens/${kept}` },
    { method: "PATCH", path: "/config", body: JSON.stringify({ timeoutHot: 5 }) },
    { method: "DELETE", path: "/config/overrides" },
  ];

  it.each(WRONG_BEARERS)(
    "POST /tokens, DELETE /tokens/:mint, PATCH /config, DELETE /config/overrides refuse %s (401)",
    async (_, headers) => {
      for (const e of JSON_ENDPOINTS()) {
        const r = await call(api, e.path, {
          method: e.method,
          headers: { ...headers, "content-type": "application/json" },
          ...(e.body ? { body: e.body } : {}),
        });
        expect(r.status, `${e.method} ${e.path}`).toBe(401);
        expect(r.headers.get("www-authenticate")).toBe('Bearer realm="moonfleet"');
        expect(errorOf(r)).toBe("admin token required");
      }
      // Nothing changed: the fresh mint is not registered, the kept one is, the config is as it was.
      expect(await api.store.get(fresh)).toBeNull();
      expect(await api.store.get(kept)).not.toBeNull();
      expect(await overrides(api)).toEqual({ timeoutCold: 4 });
    },
  );

  /** Every Bull Board route that changes something, with its parameters filled in. */
  const boardActions = () =>
    appRoutes.api
      .flatMap((r) =>
        (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({ method, route: r.route })),
      )
      .filter(({ method }) => method.toLowerCase() !== "get")
      .flatMap(({ method, route }) =>
        (Array.isArray(route) ? route : [route]).map((path) => ({ method: method.toUpperCase(), path })),
      )
      .map(({ method, path }) => ({
        method,
        path: `/admin/queues${path
          .replace(":queueName", "hot")
          .replace(":queueStatus", "waiting")
          .replace(":jobId", jobId)
          .replace(":schedulerId", "s1")}`,
      }));

  it("knows Bull Board's mutating actions (the list below is not empty by accident)", () => {
    const paths = boardActions().map((a) => `${a.method} ${a.path}`);
    expect(paths.length).toBeGreaterThanOrEqual(20);
    expect(paths).toEqual(
      expect.arrayContaining([
        "PUT /admin/queues/api/queues/hot/clean/waiting",
        "PUT /admin/queues/api/queues/hot/pause",
        "PUT /admin/queues/api/queues/hot/obliterate",
        "POST /admin/queues/api/queues/hot/add",
        `PATCH /admin/queues/api/queues/hot/${jobId}/update-data`,
      ]),
    );
  });

  it.each(WRONG_LOGINS)(
    "every Bull Board action refuses %s (401) and leaves the queue alone",
    async (_, headers) => {
      for (const a of boardActions()) {
        const r = await call(api, a.path, {
          method: a.method,
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ name: "x", data: { lane: "hot", mints: ["evil"] }, delay: 0, priority: 1 }),
        });
        expect(r.status, `${a.method} ${a.path}`).toBe(401);
        expect(r.headers.get("www-authenticate")).toBe('Basic realm="moonfleet"');
      }
      expect(await queue.getJobCounts("waiting", "delayed", "prioritized")).toEqual({
        waiting: 1,
        delayed: 0,
        prioritized: 0,
      });
      expect(await queue.isPaused()).toBe(false);
      expect((await queue.getJob(jobId))?.data).toEqual({
        lane: "hot",
        mints: [kept],
        claimedAt: expect.any(Number),
      });
    },
  );

  it("accepts the same requests with the token (the refusals are not for a missing route)", async () => {
    const statuses: number[] = [];
    for (const e of JSON_ENDPOINTS())
      statuses.push(
        (
          await call(api, e.path, {
            method: e.method,
            headers: { ...AUTH, "content-type": "application/json" },
            ...(e.body ? { body: e.body } : {}),
          })
        ).status,
      );
    expect(statuses).toEqual([201, 204, 200, 200]);
    expect((await call(api, "/admin/queues/api/queues", { headers: AUTH })).status).toBe(200);
  });
});

describe("body size limits", () => {
  let api: Api;
  const mints = demoMints(8, "abuse-size");

  beforeAll(async () => {
    const redis = testRedis("api-abuse-size");
    redises.push(redis);
    api = await startApi(redis);
  });

  const send = (
    method: string,
    path: string,
    body: NonNullable<RequestInit["body"]>,
    headers: Record<string, string> = {},
  ) =>
    call(api, path, {
      method,
      headers: { ...AUTH, "content-type": "application/json", ...headers },
      body,
      // A streamed body goes out chunked, without Content-Length.
      ...(body instanceof ReadableStream ? { duplex: "half" as const } : {}),
    });

  const expect413 = (r: Reply) => {
    expect(r.status).toBe(413);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    expect(r.json).toEqual({ error: "request body is too large" });
  };

  /** A JSON object padded with one unknown field to `bytes`. */
  const padded = (bytes: number, fields: Record<string, unknown> = {}) => {
    const head = JSON.stringify({ ...fields, pad: "" });
    return `${head.slice(0, -2)}${"x".repeat(bytes - head.length)}"}`;
  };

  it("PATCH /config: 413 over 16 kB, and nothing changes", async () => {
    const r = await send("PATCH", "/config", padded(17 * 1024, { timeoutHot: 7 }));
    expect413(r);
    expect(await overrides(api)).toEqual({});
    // Just under the limit the body is read (and refused for its unknown field, not its size).
    expect((await send("PATCH", "/config", padded(15 * 1024, { timeoutHot: 7 }))).status).toBe(400);
  });

  it("POST /tokens: 413 for a body streamed without Content-Length, and nothing is stored", async () => {
    const chunk = new TextEncoder().encode(`"${mints[0]}",`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(new TextEncoder().encode('{"mints":['));
        if (sent > 300 * 1024) {
          controller.enqueue(new TextEncoder().encode(`"${mints[1]}"]}`));
          return controller.close();
        }
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    expect413(await send("POST", "/tokens", stream));
    expect(await registered(api)).toBe(0);
  });

  it.each([
    ["POST", "/tokens", () => JSON.stringify({ mints: [mints[2]], pad: " ".repeat(4 * 1024 * 1024) })],
    ["PATCH", "/config", () => JSON.stringify({ timeoutHot: 7, pad: " ".repeat(4 * 1024 * 1024) })],
  ])("%s %s: 413 for a gzip bomb (limits apply to the inflated body)", async (method, path, body) => {
    const bomb = gzipSync(body());
    expect(bomb.length).toBeLessThan(16 * 1024);
    expect413(await send(method, path, bomb, { "content-encoding": "gzip" }));
    expect(await registered(api)).toBe(0);
    expect(await overrides(api)).toEqual({});
  });

  it("refuses an oversized anonymous body with 401 without reading it", async () => {
    const r = await call(api, "/tokens", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ mints: [mints[3]], pad: "x".repeat(2 * 1024 * 1024) }),
    });
    expect(r.status).toBe(401);
    expect(await registered(api)).toBe(0);
    expect((await call(api, "/livez")).status).toBe(200);
  });
});

describe("error answers carry no stack trace", () => {
  let api: Api;
  let dead: Api;

  beforeAll(async () => {
    const redis = testRedis("api-abuse-errors");
    redises.push(redis);
    api = await startApi(redis);
    // An api whose Redis is gone for good.
    const gone = createRedis(`redis://127.0.0.1:${await freePort()}`, { name: "api-abuse-dead" });
    gone.disconnect(); // closed for good: every command fails at once instead of retrying
    dead = await startApi(gone);
  });

  it.each<[string, string, RequestInit]>([
    [
      "malformed JSON",
      "/tokens",
      { method: "POST", headers: { ...AUTH, "content-type": "application/json" }, body: '{"mints": [' },
    ],
    [
      "an unsupported charset",
      "/tokens",
      { method: "POST", headers: { ...AUTH, "content-type": "application/json; charset=utf-7" }, body: "{}" },
    ],
    [
      "an unsupported encoding",
      "/config",
      {
        method: "PATCH",
        headers: { ...AUTH, "content-type": "application/json", "content-encoding": "compress" },
        body: "{}",
      },
    ],
    [
      "a corrupt gzip body",
      "/tokens",
      {
        method: "POST",
        headers: { ...AUTH, "content-type": "application/json", "content-encoding": "gzip" },
        body: "not gzip at all",
      },
    ],
    ["a bad percent-encoding in the path", "/tokens/%E0%A4%A", {}],
    ["a bad percent-encoding in a DELETE", "/tokens/%ZZ", { method: "DELETE", headers: AUTH }],
    [
      "a JSON array for PATCH /config",
      "/config",
      { method: "PATCH", headers: { ...AUTH, "content-type": "application/json" }, body: "[1,2]" },
    ],
    [
      "prototype keys in PATCH /config",
      "/config",
      {
        method: "PATCH",
        headers: { ...AUTH, "content-type": "application/json" },
        body: '{"__proto__":{"timeoutHot":1},"constructor":{"prototype":{}}}',
      },
    ],
  ])("%s gives a 4xx with a JSON error", async (_, path, init) => {
    const r = await call(api, path, init);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
    expect(errorOf(r)).toEqual(expect.any(String));
  });

  // Issue 20 item 12: Redis away is not an internal error but a quick 503 that says so.
  it("Redis unreachable answers 503 'Redis is unavailable', nothing more", async () => {
    for (const [path, init] of [
      ["/tokens", {}],
      [`/tokens/${demoMints(1, "abuse-dead")[0]}`, {}],
      [
        "/tokens",
        {
          method: "POST",
          headers: { ...AUTH, "content-type": "application/json" },
          body: JSON.stringify({ mint: demoMints(1, "abuse-dead")[0] }),
        },
      ],
    ] as const) {
      const r = await call(dead, path, init);
      expect(r.status, path).toBe(503);
      expect(r.json).toEqual({ error: "Redis is unavailable: try again shortly" });
    }
  });
});

describe("fuzzed requests never get a 5xx", () => {
  let api: Api;

  beforeAll(async () => {
    const redis = testRedis("api-abuse-fuzz");
    redises.push(redis);
    api = await startApi(redis);
  });

  const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const mintish = fc.oneof(
    fc.string({ unit: fc.constantFrom(...BASE58), minLength: 30, maxLength: 46 }),
    // Real keys (32 bytes) and base58 of other lengths, which only decoding tells apart.
    fc.uint8Array({ minLength: 32, maxLength: 32 }).map(encodeBase58),
    fc.uint8Array({ minLength: 20, maxLength: 40 }).map(encodeBase58),
    fc.string({ maxLength: 50 }),
    fc.string({ unit: "grapheme", maxLength: 20 }),
  );
  const weird = fc.constantFrom(
    "",
    "1e309",
    "-1e309",
    "-0",
    "NaN",
    "Infinity",
    "99999999999999999999999999999",
    "0x10",
    "1_0",
    " 1",
    "%",
    "%%",
    "%E0%A4%A",
    "%00",
    "null",
    "[]",
    "{}",
    "score_desc",
    "active",
    "\u202e\u0000",
    "x".repeat(5_000),
  );
  const queryValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: "grapheme", maxLength: 10 }),
    fc.string({ unit: "binary", maxLength: 10 }),
    fc.bigInt().map(String),
    fc.double().map(String),
    weird,
  );
  const queryKey = fc.oneof(
    fc.constantFrom("limit", "offset", "sort", "status", "lane", "min_score"),
    fc.constantFrom("limit[]", "sort[a]", "__proto__", "constructor", "toString", "hasOwnProperty", ""),
    fc.string({ maxLength: 8 }),
  );
  /** Keys may repeat (arrays); values are encoded, or sent raw for the parser to cope with. */
  const query = fc
    .array(fc.tuple(queryKey, queryValue, fc.boolean()), { maxLength: 6 })
    .map((parts) =>
      parts
        .map(([k, v, encode]) => (encode ? `${encodeURIComponent(k)}=${encodeURIComponent(v)}` : `${k}=${v}`))
        .join("&"),
    );

  // Entries with a createdAt anywhere on the number line, mostly with real keys: a stored 9e15
  // made every later read of the token, and every page holding it, answer 500.
  const datedEntries = fc.record({
    mints: fc.array(
      fc.record(
        {
          mint: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }).map(encodeBase58), mintish),
          createdAt: fc.oneof(
            fc.maxSafeInteger(),
            fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2030, 0, 1) }),
            fc.double(),
            fc.constantFrom(9e15, 8.64e15, 8.64e15 + 1, Number.MAX_SAFE_INTEGER, 0, -1, 1e300),
          ),
        },
        { requiredKeys: ["mint"] },
      ),
      { minLength: 1, maxLength: 3 },
    ),
  });
  const jsonText = fc.oneof(
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    fc
      .record(
        { mints: fc.array(fc.oneof(mintish, fc.jsonValue({ maxDepth: 1 })), { maxLength: 5 }) },
        { requiredKeys: [] },
      )
      .map((v) => JSON.stringify(v)),
    fc.record({ mint: fc.oneof(mintish, fc.jsonValue({ maxDepth: 1 })) }).map((v) => JSON.stringify(v)),
    datedEntries.map((v) => JSON.stringify(v)),
    fc
      .dictionary(
        fc.oneof(
          fc.constantFrom(...RUNTIME_KEYS, "TIMEOUT_HOT", "ADMIN_TOKEN", "redisUrl"),
          fc.string({ maxLength: 6 }),
        ),
        fc.jsonValue({ maxDepth: 1 }),
        { maxKeys: 4 },
      )
      .map((v) => JSON.stringify(v)),
  );
  const bodyText = fc.oneof(
    { arbitrary: jsonText, weight: 4 },
    { arbitrary: fc.tuple(jsonText, fc.nat()).map(([t, n]) => t.slice(0, n % (t.length + 1))), weight: 1 },
    { arbitrary: fc.string({ maxLength: 100 }), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '{"__proto__":{"polluted":1}}',
        '{"constructor":{"prototype":{"polluted":1}}}',
        '{"mints":[],"mints":[1]}',
        "\uFEFF{}",
        "null",
        '""',
        "[]",
        "{}",
        "1e999",
      ),
      weight: 1,
    },
  );
  const body = fc.oneof(
    { arbitrary: bodyText.map((t) => Buffer.from(t)), weight: 5 },
    { arbitrary: fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)), weight: 1 },
  );
  const contentType = fc.constantFrom(
    undefined,
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=utf-16",
    "application/json; charset=bogus",
    "application/json; charset=",
    "application/merge-patch+json",
    "application/vnd.api+json",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    ";;;",
  );
  const contentEncoding = fc.constantFrom(
    undefined,
    undefined,
    undefined,
    "identity",
    "gzip",
    "deflate",
    "br",
    "x-bogus",
  );

  const request = fc.oneof(
    fc.record({
      kind: fc.constant("get" as const),
      path: fc.constantFrom(
        "/tokens",
        "/config",
        "/health",
        "/health/scheduler",
        "/health/system",
        "/livez",
        "/readyz",
        "/metrics",
      ),
      query,
    }),
    fc.record({ kind: fc.constant("get-mint" as const), mint: mintish, encode: fc.boolean(), query }),
    fc.record({ kind: fc.constant("delete-mint" as const), mint: mintish, encode: fc.boolean() }),
    fc.record({ kind: fc.constant("post-dated" as const), entries: datedEntries }),
    fc.record({
      kind: fc.constantFrom("post-tokens" as const, "patch-config" as const),
      body,
      contentType,
      contentEncoding,
      query,
    }),
  );
  type Request = typeof request extends fc.Arbitrary<infer R> ? R : never;

  /** The path for a fuzzed mint; dot segments are left out, as a URL resolves them away. */
  const mintPath = (mint: string, encode: boolean) => {
    const segment = encode ? encodeURIComponent(mint) : mint.replace(/[/?#\\]/g, "_");
    return `/tokens/${segment === "." || segment === ".." || segment === "" ? "_" : segment}`;
  };

  async function send(r: Request): Promise<{ path: string; reply: Reply }> {
    switch (r.kind) {
      case "get": {
        const path = `${r.path}?${r.query}`;
        return { path, reply: await call(api, path) };
      }
      case "get-mint": {
        const path = `${mintPath(r.mint, r.encode)}?${r.query}`;
        return { path, reply: await call(api, path) };
      }
      case "delete-mint": {
        const path = mintPath(r.mint, r.encode);
        return { path, reply: await call(api, path, { method: "DELETE", headers: AUTH }) };
      }
      case "post-dated": {
        const headers = { ...AUTH, "content-type": "application/json" };
        const body = JSON.stringify(r.entries);
        const reply = await call(api, "/tokens", { method: "POST", headers, body });
        // Whatever was taken reads back: alone, and on the page that holds it.
        if (reply.status < 300)
          for (const path of [...r.entries.mints.map((e) => `/tokens/${e.mint}`), "/tokens?limit=100"]) {
            const read = await call(api, path);
            expect(read.status, `${path} after POST ${body}: ${read.text.slice(0, 200)}`).toBe(200);
          }
        return { path: "/tokens", reply };
      }
      case "post-tokens":
      case "patch-config": {
        const path = `${r.kind === "post-tokens" ? "/tokens" : "/config"}?${r.query}`;
        const headers: Record<string, string> = { ...AUTH };
        if (r.contentType !== undefined) headers["content-type"] = r.contentType;
        if (r.contentEncoding !== undefined) headers["content-encoding"] = r.contentEncoding;
        const method = r.kind === "post-tokens" ? "POST" : "PATCH";
        return { path, reply: await call(api, path, { method, headers, body: r.body }) };
      }
    }
  }

  it("GET /tokens, /tokens/:mint, /config, /health*, /metrics, POST /tokens and PATCH /config", async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = await registered(api);
        const { path, reply } = await send(r);
        seen.set(reply.status, (seen.get(reply.status) ?? 0) + 1);
        const what = `${r.kind} ${path} -> ${reply.status} ${reply.text.slice(0, 300)}`;
        // /health answers 503 "fail" by design while no worker runs: a verdict, not a failure.
        const verdict = path.startsWith("/health?") && reply.status === 503;
        if (verdict) expect((reply.json as { status?: string }).status, what).toBe("fail");
        else expect(reply.status, what).toBeLessThan(500);
        if (reply.status >= 400 && !verdict) {
          // 431 (a URL over Node's header limit) is refused by Node itself, before the api, without a body.
          if (reply.status !== 431) expect(errorOf(reply), what).toEqual(expect.any(String));
          // A refused POST stores nothing.
          expect(await registered(api), what).toBe(before);
        }
      }),
      { numRuns: 400 },
    );
    // The fuzz reached both sides: accepted requests and refused ones.
    expect(seen.get(200)).toBeGreaterThan(0);
    expect(seen.get(400)).toBeGreaterThan(0);
  });
});

describe("dates and addresses are checked at the door (issue 20, items 3 and 9)", () => {
  let api: Api;
  const HOUR = 3_600_000;
  const EARLIEST = Date.UTC(2020, 0, 1);
  const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

  beforeAll(async () => {
    const redis = testRedis("api-abuse-door");
    redises.push(redis);
    api = await startApi(redis);
  });

  const postTokens = (body: unknown) =>
    call(api, "/tokens", {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  type Page = { items: Array<{ mint: string; createdAt: string | null; fetchedAt: string | null }> };
  const page = async () => {
    const r = await call(api, "/tokens?limit=100");
    expect(r.status, r.text).toBe(200);
    return r.json as Page;
  };
  const issuesOf = (r: Reply) =>
    ((r.json as { issues?: Array<{ path: string; message: string }> }).issues ?? [])
      .map((i) => `${i.path}: ${i.message}`)
      .join("; ");
  const key = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map(encodeBase58);

  it("refuses the issue's createdAt of 9e15 with 400, stores nothing, and every read keeps working", async () => {
    const [mint] = demoMints(1, "door-9e15") as [string];
    const r = await postTokens({ mints: [{ mint, createdAt: 9e15 }] });
    expect(r.status, r.text).toBe(400);
    expect(issuesOf(r)).toMatch(/mints\.0\.createdAt/);
    expect(await api.store.get(mint)).toBeNull();
    expect((await call(api, `/tokens/${mint}`)).status).toBe(404);
    await page();
  });

  it.each([
    ["before 2020", EARLIEST - 1],
    ["the first millisecond after the epoch", 1],
    ["an hour in the future", () => Date.now() + HOUR],
    ["Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
  ])("refuses a createdAt %s", async (_, at) => {
    const [mint] = demoMints(1, `door-${String(at)}`) as [string];
    const before = await registered(api);
    const r = await postTokens({ mints: [{ mint, createdAt: typeof at === "function" ? at() : at }] });
    expect(r.status, r.text).toBe(400);
    expect(issuesOf(r)).toMatch(/mints\.0\.createdAt: createdAt must (be 2020|not be after)/);
    expect(await registered(api)).toBe(before);
  });

  it.each([
    ["the first millisecond of 2020", () => EARLIEST],
    ["a minute ago", () => Date.now() - 60_000],
    ["a minute ahead (clock skew)", () => Date.now() + 60_000],
  ])("accepts a createdAt %s and renders it", async (what, at) => {
    const [mint] = demoMints(1, `door-ok-${what}`) as [string];
    const createdAt = at();
    const r = await postTokens({ mints: [{ mint, createdAt }] });
    expect(r.status, r.text).toBe(201);
    const detail = await call(api, `/tokens/${mint}`);
    expect(detail.status).toBe(200);
    expect((detail.json as { createdAt: string }).createdAt).toBe(new Date(createdAt).toISOString());
  });

  it("refuses base58 mints that decode to 23, 31 or 33 bytes, naming the length", async () => {
    for (const [bytes, fill] of [
      [23, 0xff],
      [31, 0xff],
      [33, 0x01],
    ] as const) {
      const mint = encodeBase58(new Uint8Array(bytes).fill(fill));
      expect(mint.length).toBeGreaterThanOrEqual(32);
      expect(mint.length).toBeLessThanOrEqual(44);
      const before = await registered(api);
      const r = await postTokens({ mint });
      expect(r.status, r.text).toBe(400);
      expect(issuesOf(r)).toContain(`decodes to ${bytes} bytes`);
      expect(await registered(api)).toBe(before);
    }
  });

  it("a 33-byte mint stored by an older version can still be read and deleted", async () => {
    const legacy = encodeBase58(new Uint8Array(33).fill(0x01));
    await api.store.register([{ mint: legacy }], Date.now());
    const read = await call(api, `/tokens/${legacy}`);
    expect(read.status, read.text).toBe(200);
    expect((read.json as { mint: string }).mint).toBe(legacy);
    const removed = await call(api, `/tokens/${legacy}`, { method: "DELETE", headers: AUTH });
    expect(removed.status, removed.text).toBe(204);
    expect(await api.store.get(legacy)).toBeNull();
    // Registering it again is refused.
    expect((await postTokens({ mint: legacy })).status).toBe(400);
  });

  it("fuzz: a registration is taken iff its mint is 32 bytes and its createdAt within 2020..now", async () => {
    const mint = fc.oneof(
      key(32).map((text) => ({ text, ok: true })),
      fc
        .integer({ min: 1, max: 64 })
        .filter((n) => n !== 32)
        .chain(key)
        .map((text) => ({ text, ok: false })),
    );
    const createdAt = fc.oneof(
      fc.constant({ at: undefined as number | undefined, ok: true }),
      fc.integer({ min: EARLIEST, max: Date.now() - HOUR }).map((at) => ({ at, ok: true })),
      fc.integer({ min: 1, max: EARLIEST - 1 }).map((at) => ({ at, ok: false })),
      fc.integer({ min: 24, max: 1_000_000 }).map((hours) => ({ at: Date.now() + hours * HOUR, ok: false })),
      fc.integer({ min: 8.64e15, max: Number.MAX_SAFE_INTEGER }).map((at) => ({ at, ok: false })),
    );
    let taken = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(mint, createdAt, async (m, c) => {
        const before = await registered(api);
        const r = await postTokens({ mints: [{ mint: m.text, createdAt: c.at }] });
        const what = `${m.text} (${decodeBase58(m.text)?.length} bytes) createdAt ${c.at} -> ${r.status} ${r.text}`;
        if (m.ok && c.ok) {
          expect([200, 201], what).toContain(r.status);
          taken++;
        } else {
          expect(r.status, what).toBe(400);
          expect(issuesOf(r), what).toMatch(m.ok ? /createdAt/ : /mint/);
          expect(await registered(api), what).toBe(before);
          refused++;
        }
      }),
      { numRuns: 200 },
    );
    expect(taken).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    // Every page still renders, and every date on it is a real one.
    for (const item of (await page()).items) expect(item.createdAt, item.mint).toMatch(ISO);
  });

  it("renders an out-of-range date stored by an older version as null instead of answering 500", async () => {
    const [old, bad, fine] = demoMints(3, "door-stored") as [string, string, string];
    // What an older version let through: a createdAt of 9e15, and a hand-edited one that is no number.
    await api.store.register([{ mint: old, createdAt: 9e15 }, { mint: bad }, { mint: fine }], Date.now());
    await api.redis.hset(api.store.keys.token(bad), "createdAt", "not-a-date");
    // A snapshot and a history entry with an out-of-range fetch time.
    const fetchedAt = 9e15;
    const components = { txAccel: 0, volMomentum: 0, freshness: 1, orderflow: 0 };
    await api.store.commit([
      {
        snapshot: {
          mint: old,
          name: null,
          symbol: null,
          status: "monitoring",
          lane: "cold",
          fetchedAt,
          score: 0.25,
          smoothedScore: 0.25,
          band: scoreBand(0.25),
          components,
          smoothed: components,
          metrics: computeMetrics({
            mint: old,
            pairs: [],
            createdAt: 9e15,
            now: Date.now(),
            minLiquidityUsd: 0,
          }),
        },
        dueAt: Date.now() + HOUR,
        lastGoodScoreAt: fetchedAt,
        activeSince: null,
      },
    ]);

    for (const mint of [old, bad]) {
      const r = await call(api, `/tokens/${mint}`);
      expect(r.status, r.text).toBe(200);
      expect((r.json as { createdAt: unknown }).createdAt, mint).toBeNull();
    }
    const detail = (await call(api, `/tokens/${old}`)).json as {
      fetchedAt: unknown;
      lastGoodScoreAt: unknown;
      history: Array<{ t: unknown; score: number }>;
    };
    expect(detail.fetchedAt).toBeNull();
    expect(detail.lastGoodScoreAt).toBeNull();
    expect(detail.history).toEqual([expect.objectContaining({ t: null, score: 0.25 })]);

    const items = (await page()).items;
    const row = (mint: string) => items.find((i) => i.mint === mint);
    expect(row(old)).toMatchObject({ createdAt: null, fetchedAt: null });
    expect(row(bad)).toMatchObject({ createdAt: null });
    expect(row(fine)?.createdAt).toMatch(ISO); // the rest of the page is untouched
  });
});
