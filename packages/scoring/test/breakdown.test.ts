import { describe, expect, it } from "vitest";
import { bandRange, scoreBand, scoreBreakdown, weightedScore, type Components } from "../src/index.js";

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
