import { pairsSchema } from "@moonfleet/scoring";
import { describe, expect, it } from "vitest";
import {
  SOL_MINT,
  USDC_MINT,
  buildMarketProfile,
  demoMints,
  formatPrice,
  marketProfile,
  pairsFor,
} from "../src/index.js";
import type { DexPair } from "../src/index.js";
import { meetsActivationRule } from "./support.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const MINUTE = 60_000;
const mints = demoMints(1_000);

describe("pairsFor", () => {
  it("answers the real DexScreener Pair shape", () => {
    let pairs = 0;
    for (const mint of mints.slice(0, 200)) {
      const answer = pairsFor(mint, T0);
      expect(pairsSchema.safeParse(answer).success).toBe(true);
      for (const pair of answer) {
        pairs++;
        expect(pair.chainId).toBe("solana");
        expect(pair.baseToken.address).toBe(mint);
        expect([SOL_MINT, USDC_MINT]).toContain(pair.quoteToken.address);
        expect(pair.url).toBe(`https://dexscreener.com/solana/${pair.pairAddress.toLowerCase()}`);
        expect(pair.priceUsd).toMatch(/^\d+\.\d+$/);
        expect(pair.priceNative).toMatch(/^\d+\.\d+$/);
        expect(pair.txns.h1.buys + pair.txns.h1.sells).toBeGreaterThanOrEqual(
          pair.txns.m5.buys + pair.txns.m5.sells,
        );
        expect(pair.txns.h24.buys).toBeGreaterThanOrEqual(pair.txns.h6.buys);
        expect(pair.volume.h1).toBeGreaterThanOrEqual(pair.volume.m5);
        expect(pair.liquidity.usd).toBeGreaterThan(0);
        expect(pair.pairCreatedAt).toBeLessThanOrEqual(T0);
      }
    }
    expect(pairs).toBeGreaterThan(200);
  });

  it("gives identical answers at the same market time", () => {
    for (const mint of mints.slice(0, 50)) {
      expect(pairsFor(mint, T0 + 1234)).toEqual(pairsFor(mint, T0 + 1234));
    }
  });

  it("moves over time", () => {
    const active = mints.filter((mint) => marketProfile(mint).kind === "active").slice(0, 20);
    const key = (pairs: DexPair[]) =>
      pairs.map((p) => [p.priceUsd, p.txns.m5.buys, p.txns.m5.sells, p.volume.m5, p.liquidity.usd]);
    let changed = 0;
    for (const mint of active) {
      if (JSON.stringify(key(pairsFor(mint, T0))) !== JSON.stringify(key(pairsFor(mint, T0 + 10_000))))
        changed++;
    }
    expect(changed).toBe(active.length);
  });

  it("leaves strings that are not mints without a market", () => {
    expect(pairsFor("not-a-mint", T0)).toEqual([]);
    expect(buildMarketProfile(mints[0] ?? "", "dead").pools).toEqual([]);
  });
});

describe("the profile mix over 1,000 demo mints", () => {
  const byKind = (kind: string) => mints.filter((mint) => marketProfile(mint).kind === kind);

  it("has roughly 35% active, 45% monitoring and 20% fading mints", () => {
    expect(byKind("active").length / mints.length).toBeCloseTo(0.35, 1);
    expect(byKind("monitoring").length / mints.length).toBeCloseTo(0.45, 1);
    expect(byKind("fading").length / mints.length).toBeCloseTo(0.2, 1);
  });

  it("keeps active mints active and monitoring mints below the activation rule", () => {
    const times = [0, 17, 45, 90, 200, 600].map((m) => T0 + m * MINUTE);
    for (const t of times) {
      for (const mint of byKind("active")) expect(meetsActivationRule(mint, pairsFor(mint, t))).toBe(true);
      for (const mint of byKind("monitoring"))
        expect(meetsActivationRule(mint, pairsFor(mint, t))).toBe(false);
    }
  });

  it("lets fading mints meet the rule, then fall back as liquidity decays over minutes", () => {
    const fading = byKind("fading");
    expect(fading.length).toBeGreaterThan(100);
    for (const mint of fading) {
      const active = (minute: number) => meetsActivationRule(mint, pairsFor(mint, T0 + minute * MINUTE));
      // One full cycle is at most 160 minutes; scan two.
      let fallsBackAt = -1;
      for (let minute = 1; minute <= 320 && fallsBackAt < 0; minute++) {
        if (active(minute - 1) && !active(minute)) fallsBackAt = minute;
      }
      expect(fallsBackAt).toBeGreaterThan(0);
      // The decay is gradual: it was still active ten minutes earlier, with more liquidity.
      expect(active(fallsBackAt - 10)).toBe(true);
      const liquidity = (minute: number) =>
        pairsFor(mint, T0 + minute * MINUTE)
          .filter((p) => p.dexId !== "pumpswap" && p.dexId !== "pumpfun-amm")
          .reduce((sum, p) => sum + p.liquidity.usd, 0);
      expect(liquidity(fallsBackAt - 5)).toBeGreaterThan(liquidity(fallsBackAt));
    }
  });
});

describe("formatPrice", () => {
  it("writes four significant digits in plain decimals", () => {
    expect(formatPrice(0.00000102)).toBe("0.000001020");
    expect(formatPrice(0.000147)).toBe("0.0001470");
    expect(formatPrice(1.5)).toBe("1.500");
    expect(formatPrice(1.2e-9)).toBe("0.000000001200");
  });
});
