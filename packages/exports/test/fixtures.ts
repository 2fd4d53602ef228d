import { createHash } from "node:crypto";
import { encodeBase58 } from "../../../apps/simulator/src/base58.js";
import type { ExportCandidate, ExportPool, ExportSettings } from "../src/index.js";

/** A valid 32-byte base58 address from a label, the same every run. */
export const addr = (label: string): string =>
  encodeBase58(new Uint8Array(createHash("sha256").update(label).digest()));

export const SETTINGS: ExportSettings = {
  topN: 3,
  minScore: 0.5,
  exitScore: 0.45,
  minPoolLiquidityUsd: 500,
  poolsPerToken: 3,
  maxStalenessMs: { hot: 30_000, cold: 60_000 },
  minHoldMs: 60_000,
};

const TYPES: Array<[string, string]> = [
  ["raydium", "raydium_clmm"],
  ["meteora", "meteora_dlmm"],
  ["orca", "orca_whirlpool"],
  ["pumpswap", "pumpfun_amm"],
  ["raydium", "raydium_cpmm"],
  ["meteora", "meteora_damm_v2"],
  ["raydium", "raydium_amm"],
];

/** `n` tradable SOL pools of `mint`, the first the most liquid. */
export function pools(mint: string, n: number, top = 50_000): ExportPool[] {
  return Array.from({ length: n }, (_, i) => {
    const [dexId, poolType] = TYPES[i % TYPES.length] ?? ["raydium", "raydium_clmm"];
    return { address: addr(`${mint}/${i}`), dexId, poolType, quote: "SOL", liquidityUsd: top / (i + 1) };
  });
}

export function candidate(
  label: string,
  score: number,
  over: Partial<ExportCandidate> & { poolCount?: number } = {},
): ExportCandidate {
  const mint = addr(label);
  const { poolCount = 3, ...rest } = over;
  return {
    mint,
    name: `Token ${label}`,
    symbol: label.toUpperCase(),
    status: "active",
    lane: "hot",
    fetchedAt: 1_000_000,
    smoothedScore: score,
    band: score >= 0.9 ? "bot-ready" : score >= 0.7 ? "watch" : "low",
    metrics: { pools: pools(mint, poolCount) },
    ...rest,
  };
}
