import { describe, expect, it } from "vitest";
import { computeMetrics, pairSchema } from "../src/index.js";
import { A, HOUR, MARKET, MINT, NOW, pair } from "./fixtures.js";

const createdAt = NOW - 1.5 * HOUR;

describe("computeMetrics", () => {
  it("sums the relevant pairs of the reference market (active floor)", () => {
    // Relevant at $500: A and B only.
    // liquidity 30,000 + 10,000; tx5m (6+4) + (2+8) = 20; tx1h (40+20) + (30+30) = 120
    // volume5m 1,000 + 500; volume1h 3,000 + 6,000
    // buy volume: A 1,000*6/10 = 600, B 500*2/10 = 100 -> 700; sell volume: 400 + 400 = 800
    // average trade: A 1,000/10 = 100, B 500/10 = 50 -> largest 100, mean 75
    const m = computeMetrics({ mint: MINT, pairs: MARKET, createdAt, now: NOW, minLiquidityUsd: 500 });
    expect(m).toEqual({
      liquidityUsd: 40_000,
      primaryDex: "raydium",
      primaryPool: "PairA",
      primaryPoolType: "raydium_clmm",
      pairCount: 2,
      tx5m: 20,
      tx1h: 120,
      volume5m: 1_500,
      volume1h: 9_000,
      buys5m: 8,
      sells5m: 12,
      buyVolume5m: 700,
      sellVolume5m: 800,
      priceChange5m: 0.125,
      priceChange1h: 0.4,
      priceUsd: 0.0002,
      hoursSinceCreation: 1.5,
      largestAvgTrade5m: 100,
      meanAvgTrade5m: 75,
      // The relevant pools, most liquid first (what the exports hand to the bots).
      pools: [
        { address: "PairA", dexId: "raydium", poolType: "raydium_clmm", quote: "SOL", liquidityUsd: 30_000 },
        { address: "PairB", dexId: "pumpswap", poolType: "pumpfun_amm", quote: "SOL", liquidityUsd: 10_000 },
      ],
    });
  });

  it("includes the $400 pool at the monitoring floor without letting it skew trade averages", () => {
    const m = computeMetrics({ mint: MINT, pairs: MARKET, createdAt, now: NOW, minLiquidityUsd: 200 });
    expect(m.pairCount).toBe(3);
    expect(m.liquidityUsd).toBe(40_400);
    // C has no trades, so it adds no average trade: still (100 + 50) / 2.
    expect(m.meanAvgTrade5m).toBe(75);
  });

  it("returns zeros and null primary fields when there are no relevant pairs", () => {
    const m = computeMetrics({ mint: MINT, pairs: [], createdAt, now: NOW, minLiquidityUsd: 500 });
    expect(m).toEqual({
      liquidityUsd: 0,
      primaryDex: null,
      primaryPool: null,
      primaryPoolType: null,
      pairCount: 0,
      tx5m: 0,
      tx1h: 0,
      volume5m: 0,
      volume1h: 0,
      buys5m: 0,
      sells5m: 0,
      buyVolume5m: 0,
      sellVolume5m: 0,
      priceChange5m: 0,
      priceChange1h: 0,
      priceUsd: null,
      hoursSinceCreation: 1.5,
      largestAvgTrade5m: 0,
      meanAvgTrade5m: 0,
      pools: [],
    });
  });

  it("picks the same primary pool whatever the input order, breaking ties by address", () => {
    const x = pair({ address: "PairX", dexId: "orca", liquidityUsd: 30_000 });
    const forward = computeMetrics({ mint: MINT, pairs: [A, x], createdAt, now: NOW, minLiquidityUsd: 500 });
    const backward = computeMetrics({ mint: MINT, pairs: [x, A], createdAt, now: NOW, minLiquidityUsd: 500 });
    expect(forward.primaryPool).toBe("PairA");
    expect(backward).toEqual(forward);
  });

  it("never produces NaN or Infinity from odd upstream data", () => {
    const odd = pairSchema.parse({
      chainId: "solana",
      dexId: "meteora",
      pairAddress: "odd",
      labels: ["DAMM v2"],
      baseToken: { address: MINT },
      quoteToken: { symbol: "SOL" },
      priceUsd: "not a price",
      txns: { m5: { buys: 0, sells: 0 }, h1: { buys: -3, sells: 1 } },
      volume: { m5: 250, h1: null },
      priceChange: {},
      liquidity: { usd: 1_000 },
    });
    const m = computeMetrics({
      mint: MINT,
      pairs: [odd],
      createdAt: Number.NaN,
      now: NOW,
      minLiquidityUsd: 500,
    });
    for (const [key, value] of Object.entries(m)) {
      if (typeof value === "number") expect(Number.isFinite(value), key).toBe(true);
    }
    expect(m.priceUsd).toBeNull();
    expect(m.primaryPoolType).toBe("meteora_damm_v2");
    // Volume without trade counts cannot be split into buys and sells.
    expect(m.volume5m).toBe(250);
    expect(m.buyVolume5m + m.sellVolume5m).toBe(0);
    expect(m.tx1h).toBe(1);
  });

  it("does not count negative age for a createdAt in the future", () => {
    const m = computeMetrics({
      mint: MINT,
      pairs: [],
      createdAt: NOW + HOUR,
      now: NOW,
      minLiquidityUsd: 500,
    });
    expect(m.hoursSinceCreation).toBe(0);
  });
});
