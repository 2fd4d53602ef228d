import { describe, expect, it } from "vitest";
import { latestPairsSchema, pairSchema, pairsSchema } from "../src/index.js";

const sample = {
  chainId: "solana",
  dexId: "raydium",
  url: "https://dexscreener.com/solana/pair",
  pairAddress: "pair",
  labels: ["CLMM"],
  baseToken: { address: "mint", name: "Moon", symbol: "MOON" },
  quoteToken: { address: "So11111111111111111111111111111111111111112", name: "Wrapped SOL", symbol: "SOL" },
  priceNative: "0.000001020",
  priceUsd: "0.0001470",
  txns: { m5: { buys: 2, sells: 2 }, h1: { buys: 28, sells: 13 } },
  volume: { m5: 1123.46, h1: "3519.31" },
  priceChange: { m5: 20.13, h1: 104 },
  liquidity: { usd: 20581.61, base: 69995927, quote: 71.4352 },
  fdv: 147018,
  pairCreatedAt: 1742991620000,
  info: { imageUrl: "https://example" },
  boosts: { active: 0 },
};

describe("pairSchema", () => {
  it("parses DexScreener's pair, turning numeric strings into numbers", () => {
    const pair = pairSchema.parse(sample);
    expect(pair.volume?.h1).toBe(3519.31);
    expect(pair.liquidity?.usd).toBe(20581.61);
    expect(pair.txns?.m5).toEqual({ buys: 2, sells: 2 });
  });

  it("tolerates missing and null windows", () => {
    const pair = pairSchema.parse({ ...sample, txns: { m5: {} }, volume: { m5: null }, liquidity: null });
    expect(pair.txns?.m5).toEqual({ buys: 0, sells: 0 });
    expect(pair.volume?.m5).toBeNull();
    expect(pair.liquidity).toBeNull();
  });

  it("rejects a pair without identity or with non-numeric numbers", () => {
    expect(pairSchema.safeParse({ ...sample, pairAddress: "" }).success).toBe(false);
    expect(pairSchema.safeParse({ ...sample, volume: { m5: "lots" } }).success).toBe(false);
  });

  it("parses both response shapes", () => {
    expect(pairsSchema.parse([sample])).toHaveLength(1);
    expect(latestPairsSchema.parse({ schemaVersion: "1.0.0", pairs: null }).pairs).toBeNull();
  });
});
