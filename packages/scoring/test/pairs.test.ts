import { describe, expect, it } from "vitest";
import {
  ACTIVE_LIQUIDITY_FLOOR_USD,
  MONITORING_LIQUIDITY_FLOOR_USD,
  relevantLiquidityFloor,
  relevantPairs,
} from "../src/index.js";
import { A, B, C, MARKET, MINT, pair } from "./fixtures.js";

const addresses = (pairs: { pairAddress: string }[]) => pairs.map((p) => p.pairAddress).sort();

describe("relevantPairs", () => {
  it("keeps the mint's own real-AMM pools with a scoring quote and enough liquidity", () => {
    // D is a bonding curve, E has a BONK quote, F is another token's pool, C is below $500.
    expect(addresses(relevantPairs(MINT, MARKET, 500))).toEqual(["PairA", "PairB"]);
    expect(addresses(relevantPairs(MINT, MARKET, 200))).toEqual(["PairA", "PairB", "PairC"]);
  });

  it("treats the floor as inclusive", () => {
    expect(relevantPairs(MINT, [C], 400)).toHaveLength(1);
    expect(relevantPairs(MINT, [C], 400.01)).toHaveLength(0);
  });

  it.each(["SOL", "WSOL", "W_SOL", "W-SOL", "USDC", "USD1", "sol"])("accepts the %s quote", (quote) => {
    expect(
      relevantPairs(MINT, [pair({ address: "p", dexId: "orca", quote, liquidityUsd: 1_000 })], 500),
    ).toHaveLength(1);
  });

  it.each(["pumpfun", "launchlab"])("excludes the %s bonding curve", (dexId) => {
    expect(relevantPairs(MINT, [pair({ address: "p", dexId, liquidityUsd: 1_000 })], 500)).toHaveLength(0);
  });

  it("excludes pools with unknown liquidity", () => {
    expect(relevantPairs(MINT, [pair({ address: "p", dexId: "orca" })], 200)).toHaveLength(0);
  });

  it("counts a repeated pool once", () => {
    expect(relevantPairs(MINT, [A, B, A], 500)).toHaveLength(2);
  });
});

describe("relevantLiquidityFloor", () => {
  it("is 500 USD for active tokens and 200 USD otherwise", () => {
    expect(ACTIVE_LIQUIDITY_FLOOR_USD).toBe(500);
    expect(MONITORING_LIQUIDITY_FLOOR_USD).toBe(200);
    expect(relevantLiquidityFloor("active")).toBe(500);
    expect(relevantLiquidityFloor("monitoring")).toBe(200);
  });
});
