import { describe, expect, it } from "vitest";
import {
  bandRange,
  computeComponents,
  scoreBand,
  scoreBreakdown,
  smooth,
  weightedScore,
  type Components,
} from "../src/index.js";

describe("scoreBreakdown", () => {
  it("splits the raw and the smoothed score into weighted components that sum to them", () => {
    const raw: Components = { txAccel: 2.4, volMomentum: 1.3, freshness: 0.9, orderflow: -0.2 };
    const smoothed: Components = { txAccel: 1.8, volMomentum: 1.1, freshness: 0.95, orderflow: 0.1 };
    const b = scoreBreakdown(raw, smoothed);
    expect(b.parts.map((p) => p.name)).toEqual(["txAccel", "volMomentum", "freshness", "orderflow"]);
    expect(b.rawScore).toBeCloseTo(weightedScore(raw), 12);
    expect(b.smoothedScore).toBeCloseTo(weightedScore(smoothed), 12);
    expect(b.parts[0]).toMatchObject({ weight: 0.25, raw: 2.4, smoothed: 1.8 });
    expect(b.parts[0]!.smoothedContribution).toBeCloseTo(0.45, 12);
    expect(b.band).toBe(scoreBand(b.smoothedScore));
  });

  it("uses the given weights", () => {
    const c: Components = { txAccel: 1, volMomentum: 1, freshness: 1, orderflow: 1 };
    const w = { txAccel: 0.4, volMomentum: 0.3, freshness: 0.2, orderflow: 0.1 };
    expect(scoreBreakdown(c, c, w).smoothedScore).toBeCloseTo(1, 12);
  });
});

describe("bandRange", () => {
  it("gives each band's smoothed-score interval", () => {
    expect(bandRange("bot-ready")).toEqual({ min: 0.9, max: null });
    expect(bandRange("watch")).toEqual({ min: 0.7, max: 0.9 });
    expect(bandRange("low")).toEqual({ min: 0.5, max: 0.7 });
    expect(bandRange("none")).toEqual({ min: null, max: 0.5 });
  });
});

describe("the README's worked example", () => {
  it("computes as the README says", () => {
    const raw = computeComponents({
      tx5m: 60,
      tx1h: 300,
      volume5m: 2_400,
      volume1h: 9_000,
      liquidityUsd: 60_000,
      hoursSinceCreation: 2,
      buyVolume5m: 1_600,
      sellVolume5m: 800,
      largestAvgTrade5m: 50,
      meanAvgTrade5m: 40,
    });
    expect(raw.txAccel).toBeCloseTo(2.4, 12);
    expect(raw.volMomentum).toBeCloseTo(3.2, 12);
    expect(raw.freshness).toBeCloseTo(2 / 3, 12);
    expect(raw.orderflow).toBeCloseTo(1 / 3, 12);
    expect(weightedScore(raw)).toBeCloseTo(1.65, 12);
    const previous = { txAccel: 1.5, volMomentum: 2.0, freshness: 0.7, orderflow: 0.6, score: 1.2 };
    const smoothed = smooth({ ...raw, score: weightedScore(raw) }, previous);
    expect(smoothed.score).toBeCloseTo(1.335, 12);
    const b = scoreBreakdown(raw, smoothed);
    expect(b.parts.map((p) => Number(p.smoothedContribution.toFixed(4)))).toEqual([
      0.4425, 0.59, 0.1725, 0.13,
    ]);
    expect(b.smoothedScore).toBeCloseTo(1.335, 12);
    expect(b.band).toBe("bot-ready");
  });
});
