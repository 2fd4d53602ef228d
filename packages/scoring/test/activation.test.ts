import { describe, expect, it } from "vitest";
import { checkActivation, isActivated } from "../src/index.js";
import { MARKET, MINT, OTHER_MINT, pair } from "./fixtures.js";

const pump = (dexId = "pumpswap", quote = "SOL") => pair({ address: `pump-${dexId}-${quote}`, dexId, quote });
const external = (address: string, liquidityUsd = 1_000, dexId = "raydium", quote = "SOL") =>
  pair({ address, dexId, quote, liquidityUsd });

describe("activation rule", () => {
  it("activates with a Pump.fun pool and one external pool", () => {
    const check = checkActivation(MINT, [pump(), external("r1")]);
    expect(check).toEqual({ activated: true, reason: "pump-and-external", pumpPools: 1, externalPools: 1 });
  });

  it("activates with two external pools and no Pump.fun pool", () => {
    const check = checkActivation(MINT, [external("r1"), external("m1", 250, "meteora", "USDC")]);
    expect(check).toEqual({ activated: true, reason: "two-external", pumpPools: 0, externalPools: 2 });
  });

  it("does not activate on a Pump.fun pool alone or a single external pool", () => {
    expect(isActivated(MINT, [pump()])).toBe(false);
    expect(isActivated(MINT, [external("r1")])).toBe(false);
    expect(isActivated(MINT, [])).toBe(false);
    expect(checkActivation(MINT, [pump(), pump("pumpfun-amm")])).toMatchObject({
      activated: false,
      reason: "not-enough-pools",
      pumpPools: 2,
      externalPools: 0,
    });
  });

  it.each(["pumpfun-amm", "pumpfun", "pumpswap"])(
    "counts %s with a SOL quote as the Pump.fun pool",
    (dexId) => {
      expect(isActivated(MINT, [pump(dexId), external("r1")])).toBe(true);
      expect(isActivated(MINT, [pump(dexId, "WSOL"), external("r1")])).toBe(true);
    },
  );

  it("does not count a Pump.fun pool quoted in USDC", () => {
    expect(isActivated(MINT, [pump("pumpswap", "USDC"), external("r1")])).toBe(false);
  });

  it.each(["pumpfun-amm", "pumpfun", "pumpswap", "launchlab"])("never counts %s as external", (dexId) => {
    expect(checkActivation(MINT, [external("x1", 5_000, dexId), external("r1")]).externalPools).toBe(1);
  });

  it("needs a scoring quote for an external pool", () => {
    expect(isActivated(MINT, [external("r1"), external("r2", 1_000, "orca", "BONK")])).toBe(false);
    expect(isActivated(MINT, [external("r1"), external("r2", 1_000, "orca", "USD1")])).toBe(true);
  });

  it("applies the liquidity threshold inclusively, 200 USD by default", () => {
    expect(isActivated(MINT, [pump(), external("r1", 200)])).toBe(true);
    expect(isActivated(MINT, [pump(), external("r1", 199.99)])).toBe(false);
    expect(isActivated(MINT, [pump(), external("r1", 400)], 500)).toBe(false);
  });

  it("ignores other tokens' pools and repeated pools", () => {
    const foreign = pair({ address: "f", dexId: "raydium", base: OTHER_MINT, liquidityUsd: 9_000 });
    expect(isActivated(MINT, [external("r1"), foreign])).toBe(false);
    expect(isActivated(MINT, [external("r1"), external("r1")])).toBe(false);
  });

  it("reads the reference market: pumpswap + raydium + meteora", () => {
    // B (pumpswap) and D (the pumpfun curve) are Pump.fun pools with a SOL quote; A and C are external
    // (C's $400 clears the $200 threshold); D and E are not external.
    expect(checkActivation(MINT, MARKET)).toEqual({
      activated: true,
      reason: "pump-and-external",
      pumpPools: 2,
      externalPools: 2,
    });
  });
});
