import type { Pair } from "./pair.js";
import {
  PUMP_FUN_DEXES,
  SCORING_QUOTE_SYMBOLS,
  SOL_QUOTE_SYMBOLS,
  liquidityUsd,
  pairsOf,
  quoteSymbol,
} from "./pairs.js";

export const ACTIVATION_LIQUIDITY_THRESHOLD_USD = 200;

/** Dexes that never make an external pool: Pump.fun's own and the bonding curves. */
const NON_EXTERNAL_DEXES: ReadonlySet<string> = new Set([...PUMP_FUN_DEXES, "launchlab"]);

export type ActivationReason = "pump-and-external" | "two-external" | "not-enough-pools";

export interface ActivationCheck {
  activated: boolean;
  reason: ActivationReason;
  pumpPools: number;
  externalPools: number;
}

export function isPumpFunPool(pair: Pair): boolean {
  return PUMP_FUN_DEXES.has(pair.dexId) && SOL_QUOTE_SYMBOLS.has(quoteSymbol(pair));
}

export function isExternalPool(pair: Pair, liquidityThresholdUsd: number): boolean {
  return (
    !NON_EXTERNAL_DEXES.has(pair.dexId) &&
    SCORING_QUOTE_SYMBOLS.has(quoteSymbol(pair)) &&
    liquidityUsd(pair) >= liquidityThresholdUsd
  );
}

/**
 * The activation rule (a Pump.fun pool and an external one, or two external pools), with the pool
 * counts that decided it.
 */
export function checkActivation(
  mint: string,
  pairs: readonly Pair[],
  liquidityThresholdUsd = ACTIVATION_LIQUIDITY_THRESHOLD_USD,
): ActivationCheck {
  const own = pairsOf(mint, pairs);
  const pumpPools = own.filter(isPumpFunPool).length;
  const externalPools = own.filter((pair) => isExternalPool(pair, liquidityThresholdUsd)).length;
  const reason: ActivationReason =
    pumpPools > 0 && externalPools > 0
      ? "pump-and-external"
      : externalPools >= 2
        ? "two-external"
        : "not-enough-pools";
  return { activated: reason !== "not-enough-pools", reason, pumpPools, externalPools };
}

export function isActivated(
  mint: string,
  pairs: readonly Pair[],
  liquidityThresholdUsd = ACTIVATION_LIQUIDITY_THRESHOLD_USD,
): boolean {
  return checkActivation(mint, pairs, liquidityThresholdUsd).activated;
}
