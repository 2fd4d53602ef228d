import { afterAll, describe, expect, it } from "vitest";
import type { PairInput } from "@moonfleet/scoring";
import { EVENTS_MAX_LEN, JOB_RETENTION } from "@moonfleet/queues";
import { TokenStore } from "@moonfleet/store";
import { createProducer } from "../../apps/producer/src/producer.js";
import { demoMints, type Simulator } from "../../apps/simulator/src/index.js";
import { startWorkerProcess, type WorkerProcess } from "../../apps/worker/src/worker-process.js";
import {
  redisUrl,
  silentLogger,
  startSimulator,
  testResolved,
  testRedis,
  uniquePrefix,
  waitUntil,
} from "../support/harness.js";

// The whole data path in one process: registry -> producer -> BullMQ -> worker -> simulator -> store.
const prefix = uniquePrefix();
const resolved = testResolved({
  REDIS_KEY_PREFIX: prefix,
  PRODUCER_TICK_MS: "100",
  CACHE_TTL_HOT: "2",
  CACHE_TTL_COLD: "2",
  DUE_MARGIN_MS: "0",
  LEASE_MS: "5000",
});
const redis = testRedis();
const store = new TokenStore(redis, prefix);
const HOUR = 3_600_000;
let sim: Simulator;
let producer: ReturnType<typeof createProducer>;
let worker: WorkerProcess;
const stopProducer = new AbortController();
let producerLoop: Promise<void>;

const SOL = { address: "So11111111111111111111111111111111111111112", name: "Wrapped SOL", symbol: "SOL" };
function pool(
  mint: string,
  dexId: string,
  labels: string[],
  liquidityUsd: number,
  t: {
    m5: [number, number];
    h1: [number, number];
    vol5m: number;
    vol1h: number;
    pc5m: number;
    pc1h: number;
  },
): PairInput {
  return {
    chainId: "solana",
    dexId,
    pairAddress: `${dexId}-${mint.slice(0, 8)}`,
    labels,
    baseToken: { address: mint, name: "Fixture", symbol: "FIX" },
    quoteToken: SOL,
    priceNative: "0.000001",
    priceUsd: "0.00015",
    txns: { m5: { buys: t.m5[0], sells: t.m5[1] }, h1: { buys: t.h1[0], sells: t.h1[1] } },
    volume: { m5: t.vol5m, h1: t.vol1h },
    priceChange: { m5: t.pc5m, h1: t.pc1h },
    liquidity: { usd: liquidityUsd },
  };
}

/** Two external SOL pools: active by the two-external-pools rule. */
const fixturePairs = (mint: string, liquidity: [number, number]) => [
  pool(mint, "raydium", ["CLMM"], liquidity[0], {
    m5: [30, 10],
    h1: [200, 100],
    vol5m: 6000,
    vol1h: 24000,
    pc5m: 5,
    pc1h: 20,
  }),
  pool(mint, "meteora", ["DLMM"], liquidity[1], {
    m5: [5, 5],
    h1: [50, 50],
    vol5m: 1000,
    vol1h: 12000,
    pc5m: 1,
    pc1h: 2,
  }),
];

function startFleet(url: string) {
  producer = createProducer({ resolved, redisUrl: redisUrl(), logger: silentLogger() });
  producerLoop = producer.run(stopProducer.signal);
  worker = startWorkerProcess({ resolved, redisUrl: redisUrl(), upstreamUrl: url, logger: silentLogger() });
}

afterAll(async () => {
  stopProducer.abort();
  await producerLoop;
  await worker?.stop(1_000);
  await producer?.close();
  await sim?.close();
  await redis.quit();
});

describe("the data path", () => {
  it("scores every one of 200 registered tokens", async () => {
    const started = await startSimulator();
    sim = started.sim;
    startFleet(started.url);
    const mints = demoMints(200, `pipeline-${prefix}`);
    const reg = await store.register(
      mints.map((mint) => ({ mint })),
      Date.now(),
    );
    expect(reg.added).toHaveLength(200);

    await waitUntil("200 scored tokens", async () => {
      const scored = await store.list({ limit: 1, offset: 0, sort: "score_desc", minScore: -1_000 });
      return scored.total === 200;
    });
    const loaded = await store.load(mints);
    for (const entry of loaded) {
      expect(entry?.snapshot).not.toBeNull();
      expect(Number.isFinite(entry!.snapshot!.smoothedScore)).toBe(true);
      expect(entry!.snapshot!.lane).toBe(entry!.token.status === "active" ? "hot" : "cold");
    }
  });

  it("keeps Redis bounded: finished jobs carry the retention, the event streams their cap", async () => {
    const root = `{${prefix}}:q`;
    const [done] = await redis.zrange(`${root}:cold:completed`, 0, 0);
    expect(done).toBeDefined();
    const opts = JSON.parse((await redis.hget(`${root}:cold:${done}`, "opts")) ?? "{}") as Record<
      string,
      unknown
    >;
    expect(opts).toMatchObject(JOB_RETENTION);
    for (const lane of ["hot", "cold"])
      expect(await redis.hget(`${root}:${lane}:meta`, "opts.maxLenEvents")).toBe(String(EVENTS_MAX_LEN));
  });

  it("scores fixed pairs to the hand-computed values, activates the token and moves it to the hot lane", async () => {
    const [mint] = demoMints(1, `fixture-${prefix}`);
    sim.setOverride(mint!, { pairs: fixturePairs(mint!, [50_000, 10_000]) });
    // Created 7 h ago: freshness is 0, so every component below is fixed by the pairs alone.
    await store.register([{ mint: mint!, createdAt: Date.now() - 7 * HOUR }], Date.now());

    const first = await waitUntil("the fixture token is active", async () => {
      const got = await store.get(mint!);
      return got?.token.status === "active" ? got : null;
    });
    const s = first.snapshot!;
    // tx5m = 40 + 10 = 50, tx1h = 300 + 100 = 400: txAccel = (50/5) / (400/60) = 1.5
    expect(s.components.txAccel).toBeCloseTo(1.5, 10);
    // volume5m = 7000, volume1h = 36000: volMomentum = 7000 / 3000 = 7/3 (liquidity 60k < 100k: no boost)
    expect(s.components.volMomentum).toBeCloseTo(7 / 3, 10);
    expect(s.components.freshness).toBe(0);
    // buy volume = 6000*30/40 + 1000*5/10 = 5000, sell = 1500 + 500 = 2000: (5000-2000)/7000 = 3/7
    expect(s.components.orderflow).toBeCloseTo(3 / 7, 10);
    // score = 0.25 * (1.5 + 7/3 + 0 + 3/7) = 0.25 * 89.5/21
    expect(s.score).toBeCloseTo((0.25 * 89.5) / 21, 10);
    expect(s.metrics.liquidityUsd).toBe(60_000);
    expect(s.metrics.primaryPoolType).toBe("raydium_clmm");
    expect(s.lane).toBe("hot");
    // It was registered (and had its first refresh) in the cold lane; now it is scheduled in hot only.
    expect(await redis.zscore(store.keys.due("hot"), mint!)).not.toBeNull();
    expect(await redis.zscore(store.keys.due("cold"), mint!)).toBeNull();
  });

  it("drops a token whose liquidity is gone back to monitoring in the cold lane, smoothing its score", async () => {
    const [mint] = demoMints(1, `fixture-${prefix}`);
    const before = (await store.get(mint!))!.snapshot!;
    expect(before.status).toBe("active");
    sim.setOverride(mint!, { pairs: fixturePairs(mint!, [100, 100]) });

    const after = await waitUntil("the fixture token falls back", async () => {
      const got = await store.get(mint!);
      return got?.token.status === "monitoring" ? got : null;
    });
    const s = after.snapshot!;
    expect(s.lane).toBe("cold");
    // No pool reaches the 200 USD floor: every raw component is 0 ...
    expect(s.score).toBe(0);
    // ... and the smoothed score moves 30% of the way there from the last smoothed value.
    const lastActive = after.history.find((h) => h.status === "active")!;
    expect(s.smoothedScore).toBeCloseTo(0.7 * lastActive.smoothedScore, 10);
    expect(await redis.zscore(store.keys.due("cold"), mint!)).not.toBeNull();
    expect(await redis.zscore(store.keys.due("hot"), mint!)).toBeNull();
  });
});
