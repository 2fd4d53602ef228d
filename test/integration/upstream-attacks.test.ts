import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, describe, expect, it } from "vitest";
import type { PairInput } from "@moonfleet/scoring";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { demoMints, type SimulatorSettingsPatch } from "../../apps/simulator/src/index.js";
import {
  redisUrl,
  runTestProducer,
  silentLogger,
  startSimulator,
  testLive,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";
import { runApp, stopApp, type AppProcess } from "../support/processes.js";

// Issue 20's adversarial run, replayed against a real fleet (a worker process, the producer, the
// simulator, Redis): a 429 with Retry-After: 86400, one pair with liquidity.usd "NaN" among a
// call's answers, and an upstream that answers [] to every batch call.
const redis = testRedis("upstream-attacks");
const cleanup: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const f of cleanup.reverse()) await f().catch(() => undefined);
  await redis.quit();
});

const ADMIN_TOKEN = "attack-admin-token-0123456789";
/** The pair: a live Raydium pool whose `liquidity.usd` came back as "NaN". */
const nanPair = (mint: string) =>
  ({
    chainId: "solana",
    dexId: "raydium",
    pairAddress: `${mint.slice(0, 8)}nanpool`,
    baseToken: { address: mint, symbol: "NAN" },
    quoteToken: { address: "So11111111111111111111111111111111111111112", symbol: "SOL" },
    txns: { m5: { buys: 3, sells: 2 }, h1: { buys: 30, sells: 20 } },
    volume: { m5: 1_000, h1: 6_000 },
    liquidity: { usd: "NaN" },
  }) as unknown as PairInput;
const TTL_S = 2;

async function fleet(
  name: string,
  tokens: number,
  env: Record<string, string>,
  sim: SimulatorSettingsPatch = {},
) {
  const prefix = uniquePrefix();
  const started = await startSimulator(sim);
  cleanup.push(() => started.sim.close());
  const mints = demoMints(tokens, `${name}-${prefix}`);
  for (const m of mints) started.sim.setOverride(m, "active");
  const fullEnv = {
    REDIS_URL: redisUrl(),
    REDIS_KEY_PREFIX: prefix,
    UPSTREAM_URL: started.url,
    PRODUCER_TICK_MS: "200",
    DUE_MARGIN_MS: "0",
    SHUTDOWN_TIMEOUT_MS: "1000",
    CACHE_TTL_HOT: String(TTL_S),
    CACHE_TTL_COLD: String(TTL_S),
    UPSTREAM_RPM: "600",
    UPSTREAM_BURST: "10",
    ...env,
  };
  const store = new TokenStore(redis, prefix);
  return { prefix, sim: started.sim, simUrl: started.url, env: fullEnv, store, mints };
}

/** Starts the producer in this process and one worker process on `env`, logging at info. */
function run(env: Record<string, string>): AppProcess {
  const { stop } = runTestProducer(env);
  cleanup.push(stop);
  const worker = runApp("worker", { ...env, LOG_LEVEL: "info" });
  cleanup.push(() => stopApp(worker));
  return worker;
}

async function register(store: TokenStore, mints: readonly string[]): Promise<void> {
  await store.register(
    mints.map((mint) => ({ mint })),
    Date.now(),
  );
}

/** True once every mint has a snapshot fetched after `t`. */
async function scoredAfter(store: TokenStore, mints: readonly string[], t: number): Promise<boolean> {
  const loaded = await store.load(mints);
  return loaded.every((x) => (x?.snapshot?.fetchedAt ?? 0) > t);
}

/** The complete JSON log lines of a process's output with the given `event`. */
function logLines(output: string, event: string): Array<Record<string, unknown>> {
  return output
    .split("\n")
    .slice(0, -1)
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A tiny upstream in front of the simulator: forwards every request, except that it answers the
 * next `trip` batch calls 429 with Retry-After: 86400 (the simulator's window stops at an hour).
 */
async function retryAfterDayProxy(simUrl: string) {
  const state = { trip: 0, tripped: [] as number[], forwarded: [] as number[] };
  const server: Server = createServer((req, res) => {
    if (state.trip > 0 && req.url?.startsWith("/tokens/v1/")) {
      state.trip--;
      state.tripped.push(Date.now());
      res.writeHead(429, { "retry-after": "86400", "content-type": "application/json" });
      return void res.end('{"error":"Too Many Requests"}');
    }
    state.forwarded.push(Date.now());
    fetch(simUrl + (req.url ?? "/"), { headers: { accept: "application/json" } })
      .then(async (r) => {
        const body = await r.text();
        res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
        res.end(body);
      })
      .catch(() => res.destroy());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, state };
}

async function startApi(env: Record<string, string>) {
  const store = new TokenStore(redis, env.REDIS_KEY_PREFIX!);
  const app = createApiApp({ live: testLive(env, redis), redis, store, logger: silentLogger() });
  const server: Server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  return {
    get: (path: string, withAuth = true) => fetch(base + path, withAuth ? { headers: auth } : {}),
    send: (method: string, path: string, body?: unknown) =>
      fetch(base + path, {
        method,
        headers: { ...auth, "content-type": "application/json" },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
}

const inWindow = (times: readonly number[], from: number, to: number) =>
  times.filter((t) => t > from && t < to).length;

describe("issue 20 replayed against a fleet", () => {
  it("item 1: a 429 with Retry-After 86400 pauses the fleet for the cap only, and DELETE /admin/budget/pause ends a pause at once", async () => {
    const CAP_MS = 3_000;
    const f = await fleet("retry-after-day", 60, {});
    const proxy = await retryAfterDayProxy(f.simUrl);
    const env = { ...f.env, UPSTREAM_URL: proxy.url, UPSTREAM_MAX_PAUSE_MS: String(CAP_MS), ADMIN_TOKEN };
    await register(f.store, f.mints);
    const worker = run(env);
    const api = await startApi(env);
    await waitUntil("every token scored", () => scoredAfter(f.store, f.mints, 0), 60_000, 250);

    // The attack: one 429 that asks for a day.
    proxy.state.trip = 1;
    const t429 = await waitUntil("the 429 served", () => proxy.state.tripped[0], 30_000, 20);
    const resumedAt = await waitUntil(
      "an upstream call after the pause",
      () => proxy.state.forwarded.find((t) => t > t429 + CAP_MS - 500),
      CAP_MS + 20_000,
      50,
    );
    // Held for about the cap (calls granted before the 429 landed may still arrive at first)...
    expect(inWindow(proxy.state.forwarded, t429 + 500, t429 + CAP_MS - 500)).toBe(0);
    // ...and calling again soon after it, not a day later.
    expect(resumedAt - t429).toBeLessThan(CAP_MS + 20_000);
    const capped = logLines(worker.output(), "api_call").filter((l) => l.retryAfterMs === 86_400_000);
    expect(capped.length).toBeGreaterThan(0);
    expect(capped[0]).toMatchObject({ pausedForMs: expect.any(Number) });
    expect(capped[0]!.pausedForMs as number).toBeLessThanOrEqual(CAP_MS);

    // An operator allows long pauses, and the upstream asks for a day again: the fleet waits.
    const patched = await api.send("PATCH", "/config", { upstreamMaxPauseMs: 600_000 });
    expect(patched.status).toBe(200);
    await sleep(1_500); // the worker applies runtime config within a second
    proxy.state.trip = 1;
    const t2 = await waitUntil("the second 429 served", () => proxy.state.tripped[1], 30_000, 20);
    await sleep(3_000);
    expect(inWindow(proxy.state.forwarded, t2 + 500, Date.now())).toBe(0);

    expect((await api.get("/admin/budget", false)).status).toBe(401);
    const shown = (await (await api.get("/admin/budget")).json()) as Record<string, unknown>;
    expect(shown.pausedForMs as number).toBeGreaterThan(500_000);
    expect(shown.maxPauseMs).toBe(600_000);
    expect(shown.penaltyAt as number).toBeGreaterThan(0);

    const cleared = await api.send("DELETE", "/admin/budget/pause");
    expect(cleared.status).toBe(200);
    const clearedAt = Date.now();
    const body = (await cleared.json()) as {
      cleared: { pausedForMs: number };
      budget: Record<string, unknown>;
    };
    expect(body.cleared.pausedForMs).toBeGreaterThan(500_000);
    expect(body.budget).toMatchObject({ pausedForMs: 0, penaltyAt: 0 });
    // The fleet calls again within seconds of the DELETE.
    const afterClear = await waitUntil(
      "an upstream call after DELETE /admin/budget/pause",
      () => proxy.state.forwarded.find((t) => t > clearedAt),
      20_000,
      50,
    );
    expect(afterClear - clearedAt).toBeLessThan(20_000);
  });

  it('item 2: one pair with liquidity.usd "NaN" keeps only its own mint stale, and the log names the mint and field', async () => {
    const f = await fleet("nan-pair", 30, {});
    const bad = f.mints[19]!;
    f.sim.setOverride(bad, { pairs: [nanPair(bad)] });
    await register(f.store, f.mints);
    const worker = run(f.env);
    const good = f.mints.filter((m) => m !== bad);

    await waitUntil("the 29 good mints scored", () => scoredAfter(f.store, good, 0), 60_000, 250);
    // They stay fresh while the bad pair keeps coming: scored again well within a few TTLs.
    const later = Date.now();
    await waitUntil(
      "the 29 good mints scored again",
      () => scoredAfter(f.store, good, later),
      4 * TTL_S * 1000 + 10_000,
      250,
    );
    const badNow = (await f.store.load([bad]))[0];
    expect(badNow?.snapshot ?? null).toBeNull();
    expect(f.sim.stats().byEndpoint.tokens).toBeGreaterThan(1);

    const told = logLines(worker.output(), "api_call").flatMap(
      (l) => (l.pairs as Array<Record<string, unknown>>) ?? [],
    );
    expect(told).toContainEqual(expect.objectContaining({ mint: bad, field: "liquidity.usd" }));
  });

  it("item 5: an upstream that answers [] to every batch call opens the breaker and spends at most the fallback share", async () => {
    const f = await fleet("all-empty", 90, { UPSTREAM_FALLBACK_SHARE: "0.1", BREAKER_COOLDOWN_MS: "2000" });
    await register(f.store, f.mints);
    const worker = run(f.env);
    await waitUntil(
      "every token scored with its pairs",
      async () => (await f.store.load(f.mints)).every((x) => (x?.snapshot?.metrics.pairCount ?? 0) > 0),
      60_000,
      250,
    );

    const before = f.sim.stats().byEndpoint;
    f.sim.settings.update({ omitRate: 1 });
    const WINDOW_S = 20;
    await sleep(WINDOW_S * 1000);
    const after = f.sim.stats().byEndpoint;
    const fallbacks = after.tokenPairs - before.tokenPairs;
    const batches = after.tokens - before.tokens;
    f.sim.settings.update({ omitRate: 0 });
    const faultOver = Date.now();

    // 600 rpm x 0.1 = 60 fallbacks a minute fleet-wide: at most 20 in 20 s, plus the burst of one
    // and a few for the window's edges; the issue saw 77 from 4 batch calls.
    expect(fallbacks).toBeLessThanOrEqual((600 * 0.1 * WINDOW_S) / 60 + 5);
    expect(batches).toBeGreaterThan(0);
    const opened = logLines(worker.output(), "circuit_breaker").filter((l) => l.to === "open");
    expect(opened.length).toBeGreaterThan(0);
    // Nothing stored was lost: every token kept its last good snapshot and its status.
    const loaded = await f.store.load(f.mints);
    expect(
      loaded.every((x) => x?.token.status === "active" && (x.snapshot?.metrics.pairCount ?? 0) > 0),
    ).toBe(true);
    // And once the upstream answers again, every token is scored again.
    await waitUntil(
      "every token scored after the fault",
      () => scoredAfter(f.store, f.mints, faultOver),
      60_000,
      250,
    );
  });
});
