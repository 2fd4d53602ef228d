import { describe, expect, it } from "vitest";
import { InvalidAlphaError, smooth } from "../src/index.js";
import type { Scores } from "../src/index.js";

const raw: Scores = { txAccel: 2, volMomentum: 4, freshness: 1, orderflow: -0.5, score: 1.625 };
const zero: Scores = { txAccel: 0, volMomentum: 0, freshness: 0, orderflow: 0, score: 0 };

describe("smooth", () => {
  it("returns the raw values on the first run", () => {
    expect(smooth(raw, null)).toEqual(raw);
  });

  it("mixes 0.3 of the new value with 0.7 of the previous one", () => {
    // 0.3 * raw + 0.7 * 0
    const once = smooth(raw, zero);
    expect(once.txAccel).toBeCloseTo(0.6, 12);
    expect(once.volMomentum).toBeCloseTo(1.2, 12);
    expect(once.freshness).toBeCloseTo(0.3, 12);
    expect(once.orderflow).toBeCloseTo(-0.15, 12);
    expect(once.score).toBeCloseTo(0.4875, 12);
    // second step: 0.3 * 2 + 0.7 * 0.6 = 1.02
    expect(smooth(raw, once).txAccel).toBeCloseTo(1.02, 12);
  });

  it("takes a custom alpha", () => {
    // 0.5 * 2 + 0.5 * 0
    expect(smooth(raw, zero, 0.5).txAccel).toBe(1);
    expect(smooth(raw, zero, 1)).toEqual(raw);
  });

  it("rejects an alpha outside (0, 1]", () => {
    expect(() => smooth(raw, zero, 0)).toThrow(InvalidAlphaError);
    expect(() => smooth(raw, zero, 1.5)).toThrow(InvalidAlphaError);
    expect(() => smooth(raw, zero, Number.NaN)).toThrow(InvalidAlphaError);
  });

  it("restarts a component whose previous value is not finite", () => {
    expect(smooth(raw, { ...zero, txAccel: Number.NaN }).txAccel).toBe(2);
  });
});
