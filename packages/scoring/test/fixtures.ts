import { pairSchema } from "../src/index.js";
import type { Pair, PairInput } from "../src/index.js";

export const MINT = "4k3Dyjzvzp8eMZWUXbBCjEvwSkkk59S5iCNLY3QrkX6R";
export const OTHER_MINT = "7GCihgDB8fe6KNjn2MYtkzZcRjQy3t9GHdC8uHYmW2hr";
export const WSOL = "So11111111111111111111111111111111111111112";
export const HOUR = 3_600_000;
export const NOW = 1_750_000_000_000;

export interface PairSpec {
  address: string;
  dexId: string;
  quote?: string;
  base?: string;
  labels?: string[];
  liquidityUsd?: number;
  m5?: { buys: number; sells: number; volume: number };
  h1?: { buys: number; sells: number; volume: number };
  priceChange?: { m5?: number; h1?: number };
  priceUsd?: string;
  name?: string;
  symbol?: string;
}

/** A Pair as the upstream parser would hand it over. */
export function pair(spec: PairSpec): Pair {
  const input: PairInput = {
    chainId: "solana",
    dexId: spec.dexId,
    pairAddress: spec.address,
    labels: spec.labels,
    baseToken: { address: spec.base ?? MINT, name: spec.name, symbol: spec.symbol },
    quoteToken: { address: WSOL, symbol: spec.quote ?? "SOL" },
    priceUsd: spec.priceUsd,
    txns: {
      m5: spec.m5 ? { buys: spec.m5.buys, sells: spec.m5.sells } : undefined,
      h1: spec.h1 ? { buys: spec.h1.buys, sells: spec.h1.sells } : undefined,
    },
    volume: { m5: spec.m5?.volume, h1: spec.h1?.volume },
    priceChange: spec.priceChange,
    liquidity: spec.liquidityUsd === undefined ? undefined : { usd: spec.liquidityUsd },
  };
  return pairSchema.parse(input);
}

/*
 * The reference market used by several files.
 * A: raydium CLMM / SOL, $30,000 liquidity, m5 6 buys 4 sells $1,000, h1 40+20 trades $3,000.
 * B: pumpswap / SOL, $10,000 liquidity, m5 2 buys 8 sells $500, h1 30+30 trades $6,000.
 * C: meteora DLMM / USDC, $400 liquidity (relevant for monitoring only, external for activation), no trades.
 * D: pumpfun bonding curve / SOL, $50,000: never relevant, never external.
 * E: orca / BONK quote: never relevant.
 * F: a pool of another token.
 */
export const A = pair({
  address: "PairA",
  dexId: "raydium",
  labels: ["CLMM"],
  liquidityUsd: 30_000,
  m5: { buys: 6, sells: 4, volume: 1_000 },
  h1: { buys: 40, sells: 20, volume: 3_000 },
  priceChange: { m5: 12.5, h1: 40 },
  priceUsd: "0.0002",
  name: "Moon Token",
  symbol: "MOON",
});
export const B = pair({
  address: "PairB",
  dexId: "pumpswap",
  liquidityUsd: 10_000,
  m5: { buys: 2, sells: 8, volume: 500 },
  h1: { buys: 30, sells: 30, volume: 6_000 },
  priceChange: { m5: -3, h1: 10 },
  priceUsd: "0.00021",
});
export const C = pair({
  address: "PairC",
  dexId: "meteora",
  labels: ["DLMM"],
  quote: "USDC",
  liquidityUsd: 400,
});
export const D = pair({
  address: "PairD",
  dexId: "pumpfun",
  liquidityUsd: 50_000,
  m5: { buys: 100, sells: 0, volume: 100_000 },
});
export const E = pair({ address: "PairE", dexId: "orca", quote: "BONK", liquidityUsd: 80_000 });
export const F = pair({ address: "PairF", dexId: "raydium", base: OTHER_MINT, liquidityUsd: 90_000 });
export const MARKET: Pair[] = [F, E, D, C, B, A];
