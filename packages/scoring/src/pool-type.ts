export type PoolType =
  | "raydium_clmm"
  | "raydium_cpmm"
  | "raydium_amm"
  | "orca_whirlpool"
  | "meteora_dlmm"
  | "meteora_damm_v2"
  | "pumpfun_amm"
  | `${string}_pool`;

/** The kind of pool a pair is, from DexScreener's `dexId` and `labels` (labels compare case-insensitively). */
export function poolType(dexId: string, labels?: readonly string[] | null): PoolType {
  const dex = dexId.trim().toLowerCase();
  const has = new Set((labels ?? []).map((label) => label.trim().toLowerCase()));
  switch (dex) {
    case "raydium":
      if (has.has("clmm")) return "raydium_clmm";
      if (has.has("cpmm")) return "raydium_cpmm";
      return "raydium_amm";
    case "orca":
      return "orca_whirlpool";
    case "meteora":
      if (has.has("dlmm")) return "meteora_dlmm";
      if (has.has("damm v2") || has.has("damm")) return "meteora_damm_v2";
      return "meteora_pool";
    case "pumpfun-amm":
    case "pumpswap":
      return "pumpfun_amm";
    default:
      return `${dex}_pool`;
  }
}
