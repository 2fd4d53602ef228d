import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { laneOf, type TokenStatus } from "@moonfleet/domain";
import { computeMetrics, scoreBand, type Components } from "@moonfleet/scoring";
import {
  COMMIT_CHUNK,
  HISTORY_LENGTH,
  TokenStore,
  decodePrevious,
  encodePrevious,
  previousScoringOf,
  type TokenUpdate,
} from "@moonfleet/store";
import { demoMints } from "../../apps/simulator/src/index.js";
import { testRedis, uniquePrefix } from "../support/harness.js";

// The store's commit writes a batch in scripts of COMMIT_CHUNK tokens that defer the snapshot and
// index writes to the end of their chunk, and load reads a batch in one script. Whatever the batch holds (the
// same token twice, a status change and back, an older answer after a newer one), Redis must end
// exactly as if each update had been committed alone, in order.

const redis = testRedis("token-store-commit");
afterAll(() => redis.quit());

const T0 = 1_760_000_000_000;
const COMPONENTS: Components = { txAccel: 0.1, volMomentum: 0.2, freshness: 0.3, orderflow: 0 };
const MINTS = demoMints(4, "store-commit");
const STATUSES: TokenStatus[] = ["monitoring", "active", "archived"];

function update(mint: string, status: TokenStatus, score: number, at: number, named: boolean): TokenUpdate {
  return {
    snapshot: {
      mint,
      name: named ? `N${at % 7}` : null,
      symbol: named ? `S${at % 5}` : null,
      status,
      lane: laneOf(status),
      fetchedAt: at,
      score,
      smoothedScore: score / 2,
      band: scoreBand(score / 2),
      components: COMPONENTS,
      smoothed: COMPONENTS,
      metrics: computeMetrics({ mint, pairs: [], createdAt: T0, now: at, minLiquidityUsd: 0 }),
      volatility: score / 10,
    },
    dueAt: at + 15_000,
    deadlineAt: at + 45_000,
    value: score * 3,
    lastGoodScoreAt: score >= 0.1 ? at : null,
    activeSince: status === "active" ? at : null,
  };
}

/** Every key under a store's prefix with its content (stream entries without their ids). */
async function dump(store: TokenStore): Promise<Record<string, unknown>> {
  const keys = (await redis.keys(`${store.keys.root}*`)).sort();
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const name = key.slice(store.keys.root.length);
    const type = await redis.type(key);
    if (type === "string") out[name] = await redis.get(key);
    else if (type === "hash") out[name] = await redis.hgetall(key);
    else if (type === "list") out[name] = await redis.lrange(key, 0, -1);
    else if (type === "zset") out[name] = await redis.zrange(key, 0, -1, "WITHSCORES");
    else if (type === "stream") out[name] = (await redis.xrange(key, "-", "+")).map(([, fields]) => fields);
    else out[name] = type;
  }
  return out;
}

const anUpdate = fc
  .record({
    mint: fc.constantFrom(...MINTS),
    status: fc.constantFrom(...STATUSES),
    score: fc.double({ min: 0, max: 1, noNaN: true }),
    // Repeats and going back in time: an older answer must never overwrite a newer one.
    at: fc.integer({ min: 1, max: 40 }),
    named: fc.boolean(),
  })
  .map((u) => update(u.mint, u.status, u.score, T0 + u.at * 1_000, u.named));

describe("TokenStore.commit and load", () => {
  it("leaves Redis as committing each update alone, in order, would", async () => {
    await fc.assert(
      // across chunks too: up to two and a half of them ("max": fast-check's default size stops at 12)
      fc.asyncProperty(
        fc.array(anUpdate, { minLength: 1, maxLength: 2.5 * COMMIT_CHUNK, size: "max" }),
        async (updates) => {
          const batch = new TokenStore(redis, uniquePrefix());
          const single = new TokenStore(redis, uniquePrefix());
          for (const s of [batch, single]) await s.register([...MINTS.map((mint) => ({ mint }))], T0);
          const written = await batch.commit(updates);
          let writtenAlone = 0;
          for (const u of updates) writtenAlone += await single.commit([u]);
          expect(written).toBe(writtenAlone);
          expect(await dump(batch)).toEqual(await dump(single));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("keeps the newest HISTORY_LENGTH entries when one batch holds more refreshes of a token", async () => {
    const store = new TokenStore(redis, uniquePrefix());
    const [m] = MINTS as [string];
    await store.register([{ mint: m }], T0);
    const n = HISTORY_LENGTH + 5;
    const updates = Array.from({ length: n }, (_, i) =>
      update(m, "monitoring", i / 100, T0 + (i + 1) * 1_000, true),
    );
    expect(await store.commit(updates)).toBe(n);
    const history = (await redis.lrange(store.keys.history(m), 0, -1)).map(
      (h) => JSON.parse(h) as { t: number },
    );
    expect(history.map((h) => h.t)).toEqual(
      Array.from({ length: HISTORY_LENGTH }, (_, i) => T0 + (n - i) * 1_000),
    );
  });

  it("loads each token's record and snapshot as they are stored, null for an unknown mint", async () => {
    const store = new TokenStore(redis, uniquePrefix());
    const [a, b, c] = MINTS as [string, string, string];
    await store.register([{ mint: a, name: "Alpha" }, { mint: b }], T0, { source: "pumpportal" });
    const u = update(a, "active", 0.8, T0 + 5_000, true);
    await store.commit([u]);
    const loaded = await store.load([a, c, b, a]);
    expect(loaded[1]).toBeNull();
    expect(loaded[0]).toEqual(loaded[3]);
    expect(loaded[0]).toEqual({
      token: {
        mint: a,
        name: u.snapshot.name,
        symbol: u.snapshot.symbol,
        status: "active",
        createdAt: T0,
        registeredAt: T0,
        lastUpdatedAt: T0 + 5_000,
        fetchedAt: T0 + 5_000,
        lastGoodScoreAt: T0 + 5_000,
        activeSince: T0 + 5_000,
        source: "pumpportal",
      },
      snapshot: JSON.parse(JSON.stringify(u.snapshot)),
    });
    expect(loaded[2]).toEqual({
      token: {
        mint: b,
        name: null,
        symbol: null,
        status: "monitoring",
        createdAt: T0,
        registeredAt: T0,
        lastUpdatedAt: T0,
        fetchedAt: null,
        lastGoodScoreAt: null,
        activeSince: null,
        source: "pumpportal",
      },
      snapshot: null,
    });
  });

  it("loads a batch for scoring with the value scheduler's context, its exported mints cut to the batch", async () => {
    const store = new TokenStore(redis, uniquePrefix());
    const [a, b, c, d] = MINTS as [string, string, string, string];
    await store.register([{ mint: a }, { mint: b }], T0);
    const fresh = await store.loadForScoring([a, c]);
    expect(fresh.context).toEqual({ pressure: { hot: 1, cold: 1 }, exported: new Set() });
    const [loadedA, loadedC] = await store.load([a, c]);
    expect(fresh.loaded).toEqual([{ token: loadedA?.token, previous: null }, null]);
    expect(loadedC).toBeNull();
    await store.publishSchedule({ hot: 1.5, cold: 2.25 }, [b, c, d]);
    await store.commit([update(b, "active", 0.6, T0 + 1_000, true)]);
    const { loaded, context } = await store.loadForScoring([a, b, c]);
    const plain = await store.load([a, b, c]);
    expect(loaded.map((x) => x?.token ?? null)).toEqual(plain.map((x) => x?.token ?? null));
    // what the next scoring needs of b's snapshot, read without the snapshot
    expect(loaded[1]?.previous).toEqual(previousScoringOf(plain[1]!.snapshot!));
    expect(loaded[1]?.previous).toMatchObject({ fetchedAt: T0 + 1_000, score: 0.6, smoothedScore: 0.3 });
    expect(context).toEqual({ pressure: { hot: 1.5, cold: 2.25 }, exported: new Set([b, c]) });
    const whole = await store.scheduleContext();
    expect(context.pressure).toEqual(whole.pressure);
  });

  it("keeps a token's scoring state exactly through its compact encoding", () => {
    const num = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 });
    fc.assert(
      fc.property(
        fc.record({
          fetchedAt: fc.integer({ min: 0, max: 2 ** 45 }),
          score: num,
          smoothedScore: num,
          smoothed: fc.record({ txAccel: num, volMomentum: num, freshness: num, orderflow: num }),
          volatility: fc.option(num, { nil: undefined }),
          pairCount: fc.nat(1_000),
        }),
        (p) => {
          const { volatility, ...rest } = p;
          const previous = volatility === undefined ? rest : { ...rest, volatility };
          // JSON has no -0: the encoding keeps the value, not its sign
          expect(decodePrevious(encodePrevious(previous))).toEqual(JSON.parse(JSON.stringify(previous)));
        },
      ),
    );
    expect(decodePrevious(null)).toBeNull();
  });

  it("scores a token stored before its scoring state was kept from its snapshot", async () => {
    const store = new TokenStore(redis, uniquePrefix());
    const [m] = MINTS as [string];
    await store.register([{ mint: m }], T0);
    await store.commit([update(m, "monitoring", 0.4, T0 + 1_000, false)]);
    // as an older version left it: a snapshot, and no scoring key
    expect(await redis.del(store.keys.scoring(m))).toBe(1);
    const [snapshot] = await store.load([m]);
    const { loaded } = await store.loadForScoring([m]);
    expect(loaded[0]?.previous).toEqual(previousScoringOf(snapshot!.snapshot!));
    expect(loaded[0]?.previous?.volatility).toBe(0.04);
  });

  it("runs its scripts again after Redis forgot them", async () => {
    const store = new TokenStore(redis, uniquePrefix());
    const [m] = MINTS as [string];
    await store.register([{ mint: m }], T0);
    await store.load([m]);
    await redis.script("FLUSH");
    expect(await store.commit([update(m, "monitoring", 0.3, T0 + 1_000, false)])).toBe(1);
    await redis.script("FLUSH");
    expect((await store.load([m]))[0]?.snapshot?.fetchedAt).toBe(T0 + 1_000);
  });
});
