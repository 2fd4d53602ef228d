import { describe, expect, it } from "vitest";
import { STORED_POOLS_PER_TOKEN, computeMetrics, type Pair } from "../src/index.js";

const MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
const pair = (i: number, dexId: string, labels: string[], quote: string, liquidityUsd: number): Pair => ({
  chainId: "solana",
  dexId,
  pairAddress: `pool${i}`,
  labels,
  baseToken: { address: MINT, symbol: "T" },
  quoteToken: { address: "q", symbol: quote },
  liquidity: { usd: liquidityUsd },
});

describe("the snapshot's pool list", () => {
  it("keeps the relevant pools, most liquid first, with dex, type, quote and liquidity", () => {
    const m = computeMetrics({
      mint: MINT,
      pairs: [
        pair(1, "raydium", ["CLMM"], "SOL", 1_000),
        pair(2, "pumpfun", [], "SOL", 90_000),
        pair(3, "orca", ["wp"], "usdc", 5_000),
        pair(4, "meteora", ["DLMM"], "SOL", 100),
      ],
      createdAt: 0,
      now: 0,
      minLiquidityUsd: 500,
    });
    expect(m.pools).toEqual([
      { address: "pool3", dexId: "orca", poolType: "orca_whirlpool", quote: "USDC", liquidityUsd: 5_000 },
      { address: "pool1", dexId: "raydium", poolType: "raydium_clmm", quote: "SOL", liquidityUsd: 1_000 },
    ]);
  });

  it("stores at most STORED_POOLS_PER_TOKEN pools", () => {
    const pairs = Array.from({ length: 30 }, (_, i) => pair(i, "raydium", ["CPMM"], "SOL", 1_000 + i));
    const m = computeMetrics({ mint: MINT, pairs, createdAt: 0, now: 0, minLiquidityUsd: 500 });
    expect(m.pools).toHaveLength(STORED_POOLS_PER_TOKEN);
    expect(m.pools[0]?.address).toBe("pool29");
  });
});
