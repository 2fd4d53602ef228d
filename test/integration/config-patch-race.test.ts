import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyOverrides, readOverrides, type LiveConfig } from "@moonfleet/config";
import type { Redis } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createApiApp } from "../../apps/api/src/app.js";
import { silentLogger, testLive, testRedis, testResolved, uniquePrefix } from "../support/harness.js";

// Issue 20, item 4: two PATCH /config that are each fine alone ({"lowCpuThreshold":55} against
// the default medium 60, {"mediumCpuThreshold":50} against the default low 30) but not together.
// Both used to read the stored overrides, both passed, both were written: the stored whole said
// low 55 > medium 50, every process dropped all overrides, and every later PATCH answered 400.
// Two apis on their own Redis connections, as two api replicas would be, share one fleet.

const ADMIN_TOKEN = "config-race-admin-token-0123456789";
const prefix = uniquePrefix();
const env = { REDIS_KEY_PREFIX: prefix, ADMIN_TOKEN };
const base = testResolved(env);
const closers: Array<() => Promise<unknown>> = [];
const apis: Array<{ url: string; live: LiveConfig; redis: Redis }> = [];

beforeAll(async () => {
  for (const name of ["config-race-a", "config-race-b"]) {
    const redis = testRedis(name);
    closers.push(() => redis.quit());
    const live = testLive(env, redis);
    await live.start();
    closers.push(() => live.stop());
    const app = createApiApp({
      live,
      redis,
      store: new TokenStore(redis, prefix),
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
    apis.push({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, live, redis });
  }
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
});

const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
type Described = { values: Record<string, { value: unknown; source: string }> };
type Refusal = { error: string; issues?: Array<{ message: string }> };

async function send(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...AUTH, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: await res.json() };
}

const stored = () => readOverrides({ redis: apis[0]!.redis, prefix });
const consistent = async () => {
  const overrides = await stored();
  expect(() => applyOverrides(base, overrides), JSON.stringify(overrides)).not.toThrow();
  return overrides;
};

describe("PATCH /config is applied atomically", () => {
  it("of two concurrent PATCHes that contradict each other, one is refused with its reason", async () => {
    const [a, b] = apis as [(typeof apis)[0], (typeof apis)[0]];
    const ROUNDS = 40;
    const outcomes = new Map<string, number>();
    for (let round = 0; round < ROUNDS; round++) {
      expect((await send(a.url, "DELETE", "/config/overrides")).status).toBe(200);
      // Alternate which api gets which change, and which request leaves first.
      const [x, y] = round % 2 === 0 ? [a, b] : [b, a];
      const replies = await Promise.all([
        send(x.url, "PATCH", "/config", { lowCpuThreshold: 55 }),
        send(y.url, "PATCH", "/config", { mediumCpuThreshold: 50 }),
      ]);
      const statuses = replies.map((r) => r.status);
      const shown = replies.map((r) => (r.status === 200 ? 200 : r));
      const what = `round ${round}: ${JSON.stringify(shown)}; stored ${JSON.stringify(await stored())}`;
      outcomes.set(statuses.join(","), (outcomes.get(statuses.join(",")) ?? 0) + 1);
      // Exactly one is taken; the other is refused (400: inconsistent with what the first stored;
      // 409: it lost the race more often than it may retry) with the reason.
      expect(
        statuses.filter((s) => s === 200),
        what,
      ).toHaveLength(1);
      const refused = replies.find((r) => r.status !== 200)!;
      expect([400, 409], what).toContain(refused.status);
      const reason = refused.json as Refusal;
      expect(reason.error, what).toMatch(/nothing was changed/);
      if (refused.status === 400)
        expect(reason.issues?.map((i) => i.message).join(" "), what).toMatch(
          /LOW_CPU_THRESHOLD, MEDIUM_CPU_THRESHOLD, HIGH_CPU_THRESHOLD: expected low < medium < high/,
        );
      // What is stored is one of the two changes, never both.
      const overrides = await consistent();
      expect([{ lowCpuThreshold: 55 }, { mediumCpuThreshold: 50 }], what).toContainEqual(overrides);
    }
    expect([...outcomes.values()].reduce((s, n) => s + n, 0)).toBe(ROUNDS);
  });

  it("afterwards GET /config on both apis shows the stored whole, and a later PATCH succeeds", async () => {
    const overrides = await consistent();
    const [key] = Object.keys(overrides);
    expect(key).toBeDefined();
    for (const api of apis) {
      await api.live.refresh(true);
      const c = (await send(api.url, "GET", "/config")).json as Described;
      expect(c.values[key!]).toEqual(expect.objectContaining({ source: "runtime" }));
      expect(c.values[key!]!.value).toBe((overrides as Record<string, unknown>)[key!]);
      expect(api.live.current.sources[key as keyof typeof api.live.current.sources]).toBe("runtime");
    }
    const later = await send(apis[1]!.url, "PATCH", "/config", { maxConcurrentHot: 3 });
    expect(later.status, JSON.stringify(later.json)).toBe(200);
    expect((later.json as Described).values.maxConcurrentHot).toMatchObject({ value: 3, source: "runtime" });
    expect(await consistent()).toEqual({ ...overrides, maxConcurrentHot: 3 });
  });

  it("many concurrent PATCHes of the same pair of settings leave a consistent whole", async () => {
    expect((await send(apis[0]!.url, "DELETE", "/config/overrides")).status).toBe(200);
    // Each change is fine against the defaults (30 < 60 < 80); many pairs of them are not.
    const changes = [
      { lowCpuThreshold: 55 },
      { mediumCpuThreshold: 50 },
      { lowCpuThreshold: 20 },
      { mediumCpuThreshold: 70 },
      { lowCpuThreshold: 65 },
      { mediumCpuThreshold: 40 },
      { highCpuThreshold: 75 },
      { highCpuThreshold: 45 },
    ];
    for (let round = 0; round < 10; round++) {
      const replies = await Promise.all(
        changes.map((c, i) => send(apis[(i + round) % 2]!.url, "PATCH", "/config", c)),
      );
      for (const r of replies) expect([200, 400, 409], JSON.stringify(r)).toContain(r.status);
      expect(replies.some((r) => r.status === 200)).toBe(true);
      await consistent();
    }
  });
});

describe("PATCH /config under a storm of other changes", () => {
  it("gives up with 409 and the reason after its attempts, and stores nothing", async () => {
    expect((await send(apis[0]!.url, "DELETE", "/config/overrides")).status).toBe(200);
    // Other writers move the version without pause: most attempts' checks are outdated by the
    // time they would be written. A lull can still let one through, so try a few times.
    const storms = ["config-race-storm-1", "config-race-storm-2", "config-race-storm-3"].map(testRedis);
    let stop = false;
    const storming = storms.map(async (r) => {
      while (!stop) await r.incr(`{${prefix}}:config:version`);
    });
    const conflicts: unknown[] = [];
    try {
      for (let attempt = 1; attempt <= 20 && conflicts.length === 0; attempt++) {
        const before = await stored();
        const r = await send(apis[0]!.url, "PATCH", "/config", { maxConcurrentCold: attempt });
        expect([200, 409], JSON.stringify(r.json)).toContain(r.status);
        if (r.status === 200) expect(await stored()).toEqual({ maxConcurrentCold: attempt });
        else {
          conflicts.push(r.json);
          expect((r.json as Refusal).error).toMatch(
            /changed under this change 5 times .*nothing was changed/,
          );
          expect(await stored()).toEqual(before);
        }
      }
    } finally {
      stop = true;
      await Promise.all(storming);
      await Promise.all(storms.map((r) => r.quit()));
    }
    expect(conflicts.length).toBeGreaterThan(0);
    // Once the storm is over a change goes through.
    expect((await send(apis[0]!.url, "PATCH", "/config", { maxConcurrentCold: 5 })).status).toBe(200);
  });
});

describe("PATCH /config checks the due margin against the TTLs (issue 20, item 10)", () => {
  beforeAll(async () => {
    expect((await send(apis[0]!.url, "DELETE", "/config/overrides")).status).toBe(200);
  });

  it("refuses the issue's {cacheTtlHot: 1, dueMarginMs: 60000} with 400 and changes nothing", async () => {
    const before = await stored();
    const r = await send(apis[0]!.url, "PATCH", "/config", { cacheTtlHot: 1, dueMarginMs: 60_000 });
    expect(r.status).toBe(400);
    const reason = r.json as Refusal;
    expect(reason.issues?.map((i) => i.message).join(" ")).toMatch(
      /DUE_MARGIN_MS=60000 must be below CACHE_TTL_HOT=1/,
    );
    expect(await stored()).toEqual(before);
  });

  it("takes a TTL of 1 s with a margin below it", async () => {
    const r = await send(apis[0]!.url, "PATCH", "/config", { cacheTtlHot: 1, dueMarginMs: 500 });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(await consistent()).toMatchObject({ cacheTtlHot: 1, dueMarginMs: 500 });
    // The margin alone cannot then rise to the TTL.
    expect((await send(apis[1]!.url, "PATCH", "/config", { dueMarginMs: 1_000 })).status).toBe(400);
  });
});
