import { describe, expect, it } from "vitest";
import { evaluateToken } from "../src/index.js";
import type { Scores, TokenEvaluationInput } from "../src/index.js";
import { A, B, HOUR, MARKET, MINT, NOW, pair } from "./fixtures.js";

const input: TokenEvaluationInput = {
  mint: MINT,
  status: "monitoring",
  createdAt: NOW - 1.5 * HOUR,
  lastGoodScoreAt: null,
  activeSince: null,
  pairs: MARKET,
  previous: null,
  now: NOW,
};

/** A market that meets the activation rule but does not trade. */
const idle = [
  pair({ address: "i1", dexId: "raydium", liquidityUsd: 5_000 }),
  pair({ address: "i2", dexId: "orca", liquidityUsd: 5_000 }),
];

describe("evaluateToken", () => {
  it("scores the reference market and activates the monitoring token", () => {
    // Activated (pumpswap + raydium), so the active floor ($500) applies: pairs A and B.
    // Raw score 1.1708333 (see score.test.ts); first run, so smoothed = raw.
    const e = evaluateToken(input);
    expect(e.activated).toBe(true);
    expect(e.activation.reason).toBe("pump-and-external");
    expect(e.status).toBe("active");
    expect(e.lane).toBe("hot");
    expect(e.activeSince).toBe(NOW);
    expect(e.metrics.pairCount).toBe(2);
    expect(e.raw.score).toBeCloseTo(1.1708333333, 9);
    expect(e.smoothed).toEqual(e.raw);
    expect(e.band).toBe("bot-ready");
    expect(e.lastGoodScoreAt).toBe(NOW);
    expect(e.name).toBe("Moon Token");
    expect(e.symbol).toBe("MOON");
  });

  it("smooths against the previous values", () => {
    const previous: Scores = { txAccel: 1, volMomentum: 1, freshness: 1, orderflow: 0, score: 0.75 };
    // score: 0.3 * 1.1708333 + 0.7 * 0.75 = 0.35125 + 0.525 = 0.87625
    // txAccel: 0.3 * 2 + 0.7 * 1 = 1.3
    const e = evaluateToken({ ...input, previous });
    expect(e.smoothed.score).toBeCloseTo(0.87625, 9);
    expect(e.smoothed.txAccel).toBeCloseTo(1.3, 12);
    expect(e.band).toBe("watch");
    // alpha 1 means no smoothing
    expect(evaluateToken({ ...input, previous, alpha: 1 }).smoothed.score).toBeCloseTo(1.1708333333, 9);
  });

  it("uses the monitoring floor for a token that does not activate", () => {
    // A is the only external pool; the pumpswap/USDC pool is not a Pump.fun pool (USDC quote), but it is
    // relevant at the $200 monitoring floor with its $300 of liquidity.
    const g = pair({ address: "PairG", dexId: "pumpswap", quote: "USDC", liquidityUsd: 300 });
    const e = evaluateToken({ ...input, pairs: [A, g] });
    expect(e.activated).toBe(false);
    expect(e.status).toBe("monitoring");
    expect(e.lane).toBe("cold");
    expect(e.activeSince).toBeNull();
    expect(e.metrics.pairCount).toBe(2);
    expect(e.metrics.liquidityUsd).toBe(30_300);
  });

  it("keeps activeSince while active and clears it on falling back", () => {
    const active = { ...input, status: "active" as const, activeSince: NOW - 3 * HOUR };
    expect(evaluateToken(active).activeSince).toBe(NOW - 3 * HOUR);
    const fallen = evaluateToken({ ...active, pairs: [A] });
    expect(fallen.status).toBe("monitoring");
    expect(fallen.activeSince).toBeNull();
  });

  it("keeps the last good score time when the score is below min_score", () => {
    // Idle market, 24 h old: every component is 0, score 0.
    const e = evaluateToken({
      ...input,
      status: "active",
      createdAt: NOW - 24 * HOUR,
      activeSince: NOW - 20 * HOUR,
      lastGoodScoreAt: NOW - 5 * HOUR,
      pairs: idle,
    });
    expect(e.smoothed.score).toBe(0);
    expect(e.lastGoodScoreAt).toBe(NOW - 5 * HOUR);
    expect(e.status).toBe("active");
  });

  it("archives an active token that has not scored for 12 h", () => {
    const e = evaluateToken({
      ...input,
      status: "active",
      createdAt: NOW - 24 * HOUR,
      activeSince: NOW - 20 * HOUR,
      lastGoodScoreAt: NOW - 13 * HOUR,
      pairs: idle,
    });
    expect(e.status).toBe("archived");
    expect(e.lane).toBeNull();
    expect(e.activeSince).toBeNull();
  });

  it("does not archive a scoring active token with an old last good score", () => {
    const e = evaluateToken({
      ...input,
      status: "active",
      activeSince: NOW - 20 * HOUR,
      lastGoodScoreAt: NOW - 13 * HOUR,
    });
    expect(e.status).toBe("active");
    expect(e.lastGoodScoreAt).toBe(NOW);
  });

  it("archives an old monitoring token with no pools, and reports nulls", () => {
    const e = evaluateToken({ ...input, createdAt: NOW - 13 * HOUR, pairs: [] });
    expect(e.status).toBe("archived");
    expect(e.metrics.primaryPool).toBeNull();
    expect(e.name).toBeNull();
    expect(e.symbol).toBeNull();
    expect(e.raw).toEqual({ txAccel: 0, volMomentum: 0, freshness: 0, orderflow: 0, score: 0 });
  });

  it("applies custom weights and activation threshold", () => {
    // Only freshness counts: (6 - 1.5) / 6 = 0.75
    const weights = { txAccel: 0, volMomentum: 0, freshness: 1, orderflow: 0 };
    expect(evaluateToken({ ...input, weights }).raw.score).toBeCloseTo(0.75, 12);
    // At $50,000 neither A nor C is external: not activated.
    expect(evaluateToken({ ...input, liquidityThresholdUsd: 50_000 }).activated).toBe(false);
  });

  it("is deterministic and independent of pair order", () => {
    const once = evaluateToken(input);
    expect(evaluateToken(input)).toEqual(once);
    expect(evaluateToken({ ...input, pairs: [...MARKET].reverse() })).toEqual(once);
    expect(evaluateToken({ ...input, pairs: [B, A] }).metrics).toEqual(once.metrics);
  });
});
