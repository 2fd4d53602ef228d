import { describe, expect, it } from "vitest";
import {
  DEFAULT_WEIGHTS,
  MIN_SCORE,
  computeComponents,
  computeMetrics,
  scoreBand,
  weightedScore,
} from "../src/index.js";
import type { ComponentInputs } from "../src/index.js";
import { HOUR, MARKET, MINT, NOW, pair } from "./fixtures.js";

const quiet: ComponentInputs = {
  tx5m: 0,
  tx1h: 0,
  volume5m: 0,
  volume1h: 0,
  liquidityUsd: 0,
  hoursSinceCreation: 24,
  buyVolume5m: 0,
  sellVolume5m: 0,
  largestAvgTrade5m: 0,
  meanAvgTrade5m: 0,
};

describe("score of the reference market", () => {
  it("matches the hand computation", () => {
    // Metrics (see metrics.test.ts): tx5m 20, tx1h 120, volume5m 1,500, volume1h 9,000, liquidity 40,000,
    // age 1.5 h, buy volume 700, sell volume 800, average trades largest 100 / mean 75.
    // txAccel     = (20/5) / (120/60) = 4 / 2 = 2
    // volMomentum = 1,500 / (9,000/12) = 1,500 / 750 = 2, times max(1, 40,000/100,000 = 0.4) = 1 -> 2
    // freshness   = (6 - 1.5) / 6 = 0.75
    // orderflow   = (700 - 800) / 1,500 = -1/15, times min(1, 1,500/500) = 1; 100 <= 3*75 so no halving
    // score       = 0.25 * (2 + 2 + 0.75 - 1/15) = 0.25 * 4.68333... = 1.1708333...
    const metrics = computeMetrics({
      mint: MINT,
      pairs: MARKET,
      createdAt: NOW - 1.5 * HOUR,
      now: NOW,
      minLiquidityUsd: 500,
    });
    const c = computeComponents(metrics);
    expect(c.txAccel).toBeCloseTo(2, 12);
    expect(c.volMomentum).toBeCloseTo(2, 12);
    expect(c.freshness).toBeCloseTo(0.75, 12);
    expect(c.orderflow).toBeCloseTo(-1 / 15, 12);
    expect(weightedScore(c)).toBeCloseTo(1.1708333333, 9);
    expect(scoreBand(weightedScore(c))).toBe("bot-ready");
  });

  it("halves order flow when one pool's trades are much larger than the others'", () => {
    // Four pools, m5: W 2 buys $2,000 (average 1,000); X, Y, Z 1 buy + 1 sell of $20 (average 10).
    // mean of averages = (1,000 + 10 + 10 + 10) / 4 = 257.5; 3 * 257.5 = 772.5 < 1,000 -> halve.
    // buy volume = 2,000 + 3 * 10 = 2,030; sell volume = 3 * 10 = 30; total 2,060 (>= 500, full weight)
    // orderflow = (2,030 - 30) / 2,060 / 2 = 2,000 / 4,120 = 0.485436...
    const pool = (address: string, buys: number, sells: number, volume: number) =>
      pair({ address, dexId: "orca", liquidityUsd: 5_000, m5: { buys, sells, volume } });
    const metrics = computeMetrics({
      mint: MINT,
      pairs: [pool("W", 2, 0, 2_000), pool("X", 1, 1, 20), pool("Y", 1, 1, 20), pool("Z", 1, 1, 20)],
      createdAt: NOW,
      now: NOW,
      minLiquidityUsd: 500,
    });
    expect(metrics.largestAvgTrade5m).toBe(1_000);
    expect(metrics.meanAvgTrade5m).toBe(257.5);
    expect(computeComponents(metrics).orderflow).toBeCloseTo(2_000 / 4_120, 12);
  });
});

describe("components", () => {
  it("are all 0 for a quiet, old token", () => {
    expect(computeComponents(quiet)).toEqual({ txAccel: 0, volMomentum: 0, freshness: 0, orderflow: 0 });
  });

  it("txAccel is 0 without hourly trades and capped at 10", () => {
    expect(computeComponents({ ...quiet, tx5m: 7, tx1h: 0 }).txAccel).toBe(0);
    // (100/5) / (60/60) = 20 -> 10
    expect(computeComponents({ ...quiet, tx5m: 100, tx1h: 60 }).txAccel).toBe(10);
    // (10/5) / (120/60) = 1
    expect(computeComponents({ ...quiet, tx5m: 10, tx1h: 120 }).txAccel).toBe(1);
  });

  it("volMomentum is 0 without hourly volume, boosted by deep liquidity and capped at 15", () => {
    expect(computeComponents({ ...quiet, volume5m: 500, volume1h: 0 }).volMomentum).toBe(0);
    // 100 / (1,200/12) = 1, times 300,000/100,000 = 3 -> 3
    expect(
      computeComponents({ ...quiet, volume5m: 100, volume1h: 1_200, liquidityUsd: 300_000 }).volMomentum,
    ).toBe(3);
    // 100 / 100 = 1, times max(1, 0.5) = 1 -> 1
    expect(
      computeComponents({ ...quiet, volume5m: 100, volume1h: 1_200, liquidityUsd: 50_000 }).volMomentum,
    ).toBe(1);
    // 1,000 / 100 = 10, times 3 = 30 -> 15
    expect(
      computeComponents({ ...quiet, volume5m: 1_000, volume1h: 1_200, liquidityUsd: 300_000 }).volMomentum,
    ).toBe(15);
  });

  it.each([
    [0, 1],
    [3, 0.5],
    [6, 0],
    [48, 0],
  ])("freshness at %f hours is %f", (hours, expected) => {
    expect(computeComponents({ ...quiet, hoursSinceCreation: hours }).freshness).toBe(expected);
  });

  it("orderflow is 0 without volume and scaled down below $500", () => {
    expect(computeComponents({ ...quiet, buyVolume5m: 0, sellVolume5m: 0 }).orderflow).toBe(0);
    // (300 - 100) / 400 = 0.5, times 400/500 = 0.8 -> 0.4
    expect(computeComponents({ ...quiet, buyVolume5m: 300, sellVolume5m: 100 }).orderflow).toBeCloseTo(
      0.4,
      12,
    );
    // all sells, $1,000: -1 times 1
    expect(computeComponents({ ...quiet, buyVolume5m: 0, sellVolume5m: 1_000 }).orderflow).toBe(-1);
  });

  it("orderflow halving needs the largest average above 3x the mean, strictly", () => {
    const base = { ...quiet, buyVolume5m: 300, sellVolume5m: 100 };
    expect(computeComponents({ ...base, largestAvgTrade5m: 301, meanAvgTrade5m: 100 }).orderflow).toBeCloseTo(
      0.2,
      12,
    );
    expect(computeComponents({ ...base, largestAvgTrade5m: 300, meanAvgTrade5m: 100 }).orderflow).toBeCloseTo(
      0.4,
      12,
    );
  });
});

describe("weightedScore and bands", () => {
  it("uses 0.25 weights by default and accepts custom weights", () => {
    expect(DEFAULT_WEIGHTS).toEqual({ txAccel: 0.25, volMomentum: 0.25, freshness: 0.25, orderflow: 0.25 });
    const c = { txAccel: 2, volMomentum: 1, freshness: 0.5, orderflow: -0.5 };
    // 0.25 * (2 + 1 + 0.5 - 0.5) = 0.75
    expect(weightedScore(c)).toBeCloseTo(0.75, 12);
    // 0.1*2 + 0.2*1 + 0.3*0.5 + 0.4*(-0.5) = 0.2 + 0.2 + 0.15 - 0.2 = 0.35
    expect(weightedScore(c, { txAccel: 0.1, volMomentum: 0.2, freshness: 0.3, orderflow: 0.4 })).toBeCloseTo(
      0.35,
      12,
    );
  });

  it.each([
    [1.4, "bot-ready"],
    [0.9, "bot-ready"],
    [0.89, "watch"],
    [0.7, "watch"],
    [0.5, "low"],
    [0.49, "none"],
    [-1, "none"],
  ] as const)("score %f is %s", (score, band) => {
    expect(scoreBand(score)).toBe(band);
  });

  it("has min_score 0.10", () => {
    expect(MIN_SCORE).toBe(0.1);
  });
});
