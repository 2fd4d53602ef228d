import type { Lane, TokenStatus } from "@moonfleet/domain";
import { bandRange, type ScoreBand } from "@moonfleet/scoring";
import type { TokenListItem, TokenSort, TokenStore } from "@moonfleet/store";

/** What GET /tokens filters on, beyond what the store's indexes answer alone. */
export interface TokenFilter {
  readonly sort: TokenSort;
  readonly status?: TokenStatus | undefined;
  readonly lane?: Lane | undefined;
  readonly minScore?: number | undefined;
  /** A symbol prefix (any case) or a mint prefix (exact case: base58 is case-sensitive). */
  readonly q?: string | undefined;
  readonly band?: ScoreBand | undefined;
}

/** Tokens read from the store per step of a walk: one page of the index and its records. */
export const WALK_PAGE = 500;

/** Whether a listed token passes the filters the indexes cannot apply (q, band). */
export function matchesToken(item: TokenListItem, f: Pick<TokenFilter, "q" | "band">): boolean {
  if (f.band !== undefined && (item.snapshot?.band ?? null) !== f.band) return false;
  if (f.q !== undefined && f.q !== "") {
    const symbol = (item.snapshot?.symbol ?? item.token.symbol ?? "").toLowerCase();
    if (!item.token.mint.startsWith(f.q) && !symbol.startsWith(f.q.toLowerCase())) return false;
  }
  return true;
}

/** The index's lower score bound: min_score and the band's floor, whichever is higher. */
function lowerBound(f: TokenFilter): number | undefined {
  const floor = f.band ? bandRange(f.band).min : null;
  // "none" is every scored token below 0.5: the index's -inf holds the unscored ones, left out.
  const bandMin = f.band === "none" ? -1e9 : floor;
  if (bandMin === null) return f.minScore;
  return f.minScore === undefined ? bandMin : Math.max(f.minScore, bandMin);
}

/**
 * Every token that passes the filter, in the sort's order, one index page at a time: memory
 * follows WALK_PAGE, not the registry. A token re-scored during the walk may move within the
 * index and be seen twice or not at all, as with any paged read of a changing list.
 */
export async function* walkTokens(
  store: TokenStore,
  f: TokenFilter,
  signal?: AbortSignal,
): AsyncGenerator<TokenListItem> {
  const minScore = lowerBound(f);
  for (let offset = 0; !signal?.aborted; offset += WALK_PAGE) {
    const page = await store.list({
      limit: WALK_PAGE,
      offset,
      sort: f.sort,
      status: f.status,
      lane: f.lane,
      minScore,
    });
    for (const item of page.items) if (matchesToken(item, f)) yield item;
    if (offset + WALK_PAGE >= page.total) return;
  }
}

/** Whether a query needs the walk (the indexes alone cannot answer it). */
export const needsWalk = (f: TokenFilter): boolean =>
  (f.q !== undefined && f.q !== "") || f.band !== undefined;

/** One page of a filtered walk and how many tokens match in all. */
export async function pageOfWalk(
  store: TokenStore,
  f: TokenFilter,
  offset: number,
  limit: number,
): Promise<{ total: number; items: TokenListItem[] }> {
  const items: TokenListItem[] = [];
  let total = 0;
  for await (const item of walkTokens(store, f)) {
    if (total >= offset && items.length < limit) items.push(item);
    total++;
  }
  return { total, items };
}
