import type { PerLane } from "@moonfleet/domain";

/** The rule every format shares (EXPORT_* settings), in plain values so the core stays pure. */
export interface ExportSettings {
  /** How many tokens the bots get (EXPORT_TOP_N). */
  readonly topN: number;
  /** Smoothed score a token needs to enter (EXPORT_MIN_SCORE). */
  readonly minScore: number;
  /** Smoothed score below which a member leaves at once (EXPORT_EXIT_SCORE). */
  readonly exitScore: number;
  /** Liquidity a pool needs to be exported (EXPORT_MIN_POOL_LIQUIDITY_USD). */
  readonly minPoolLiquidityUsd: number;
  /** Pools per token, most liquid first (EXPORT_POOLS_PER_TOKEN). */
  readonly poolsPerToken: number;
  /** A snapshot older than this (per lane) is not exported (EXPORT_MAX_STALENESS_S, or 2 x TTL). */
  readonly maxStalenessMs: PerLane<number>;
  /** A member out of the top N leaves after this long (EXPORT_MIN_HOLD_S). */
  readonly minHoldMs: number;
  /**
   * A token enters only with a snapshot at most this old (SCHEDULING=value: EXPORT_REFRESH_S, the
   * age an exported token's snapshot keeps); an older one is held, its slot kept, until it is
   * refreshed. Unset: any snapshot within maxStalenessMs enters.
   */
  readonly entryMaxAgeMs?: number;
}

/** The same rule without damping: plain top N every tick (the churn baseline). */
export const undamped = (s: ExportSettings): ExportSettings => ({
  ...s,
  exitScore: s.minScore,
  minHoldMs: 0,
});
