import type { TokenStatus } from "@moonfleet/domain";
import type { Pair } from "./pair.js";

/** Bonding curves are not real markets: excluded from scoring and never an external pool. */
export const BONDING_CURVE_DEXES: ReadonlySet<string> = new Set(["pumpfun", "launchlab"]);
export const PUMP_FUN_DEXES: ReadonlySet<string> = new Set(["pumpfun-amm", "pumpfun", "pumpswap"]);
export const SOL_QUOTE_SYMBOLS: ReadonlySet<string> = new Set(["WSOL", "SOL", "W_SOL", "W-SOL"]);
export const SCORING_QUOTE_SYMBOLS: ReadonlySet<string> = new Set([...SOL_QUOTE_SYMBOLS, "USDC", "USD1"]);

export const ACTIVE_LIQUIDITY_FLOOR_USD = 500;
export const MONITORING_LIQUIDITY_FLOOR_USD = 200;

/** Minimum `liquidity.usd` for a pair to count in a token's metrics. */
export function relevantLiquidityFloor(status: TokenStatus): number {
  return status === "active" ? ACTIVE_LIQUIDITY_FLOOR_USD : MONITORING_LIQUIDITY_FLOOR_USD;
}

/** A pair's USD liquidity, 0 when missing or not a positive finite number. */
export function liquidityUsd(pair: Pair): number {
  return nonNegative(pair.liquidity?.usd);
}

export function quoteSymbol(pair: Pair): string {
  return (pair.quoteToken.symbol ?? "").trim().toUpperCase();
}

export function isBaseOf(mint: string, pair: Pair): boolean {
  return pair.baseToken.address === mint;
}

/**
 * Pairs of `mint` that have the given base token, keeping the first of each `pairAddress`: merged
 * batch and fallback responses can repeat a pool, and a repeated pool must not count twice.
 */
export function pairsOf(mint: string, pairs: readonly Pair[]): Pair[] {
  const seen = new Set<string>();
  return pairs.filter((pair) => {
    if (!isBaseOf(mint, pair) || seen.has(pair.pairAddress)) return false;
    seen.add(pair.pairAddress);
    return true;
  });
}

/** The pairs a token's metrics come from: real AMMs, SOL-like/USDC/USD1 quotes, enough liquidity. */
export function relevantPairs(mint: string, pairs: readonly Pair[], minLiquidityUsd: number): Pair[] {
  return pairsOf(mint, pairs).filter(
    (pair) =>
      !BONDING_CURVE_DEXES.has(pair.dexId) &&
      SCORING_QUOTE_SYMBOLS.has(quoteSymbol(pair)) &&
      liquidityUsd(pair) >= minLiquidityUsd,
  );
}

export function nonNegative(x: number | null | undefined): number {
  return x !== undefined && x !== null && Number.isFinite(x) && x > 0 ? x : 0;
}
