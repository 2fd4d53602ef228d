import { SOL_QUOTE_SYMBOLS } from "@moonfleet/scoring";
import type { ExportCandidate, ExportPool } from "./candidate.js";
import type { ExportSettings } from "./settings.js";

/** Pool types NotArb and SolanaMevBot trade; everything else (bonding curves included) is dropped. */
export const TRADABLE_POOL_TYPES: ReadonlySet<string> = new Set([
  "pumpfun_amm",
  "raydium_amm",
  "raydium_cpmm",
  "raydium_clmm",
  "meteora_dlmm",
  "meteora_damm_v2",
  "orca_whirlpool",
]);
/** Quotes the bots route through: SOL (wrapped or not) and USDC. */
export const EXPORT_QUOTES: ReadonlySet<string> = new Set([...SOL_QUOTE_SYMBOLS, "USDC"]);
/** A token needs two pools to have an arbitrage route. */
export const MIN_POOLS_PER_ROUTE = 2;

/** Why a token is not (or no longer) exported. */
export type ExclusionReason = "inactive" | "stale" | "no_route" | "below_exit" | "below_min";

const byLiquidity = (a: ExportPool, b: ExportPool): number =>
  b.liquidityUsd - a.liquidityUsd || (a.address < b.address ? -1 : a.address > b.address ? 1 : 0);

/** Every pool of a token the bots can trade, most liquid first (ties by address, so order is stable). */
export function tradablePools(
  c: ExportCandidate,
  s: Pick<ExportSettings, "minPoolLiquidityUsd">,
): ExportPool[] {
  const seen = new Set<string>();
  return c.metrics.pools
    .filter((p) => {
      const ok =
        TRADABLE_POOL_TYPES.has(p.poolType) &&
        EXPORT_QUOTES.has(p.quote.toUpperCase()) &&
        p.liquidityUsd >= s.minPoolLiquidityUsd &&
        !seen.has(p.address);
      seen.add(p.address);
      return ok;
    })
    .sort(byLiquidity);
}

/** The staleness bound of a candidate: its lane's (active tokens are hot). */
export function maxStalenessOf(c: ExportCandidate, s: Pick<ExportSettings, "maxStalenessMs">): number {
  return s.maxStalenessMs[c.lane ?? "hot"];
}

/** The staleness guard: a snapshot older than its bound must not be traded on. */
export function isStale(c: ExportCandidate, now: number, s: Pick<ExportSettings, "maxStalenessMs">): boolean {
  return now - c.fetchedAt > maxStalenessOf(c, s);
}

export interface Judged {
  readonly candidate: ExportCandidate;
  /** All tradable pools, most liquid first. */
  readonly pools: ExportPool[];
  /** Why the token cannot be exported whatever its score; null when it can. */
  readonly excluded: Exclude<ExclusionReason, "below_exit" | "below_min"> | null;
}

/** The one rule for every format, before the score: active, fresh, a route of >= 2 tradable pools. */
export function judge(c: ExportCandidate, now: number, s: ExportSettings): Judged {
  const pools = tradablePools(c, s);
  const excluded =
    c.status !== "active"
      ? "inactive"
      : isStale(c, now, s)
        ? "stale"
        : pools.length < MIN_POOLS_PER_ROUTE
          ? "no_route"
          : null;
  return { candidate: c, pools, excluded };
}
