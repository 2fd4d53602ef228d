import { laneOf } from "@moonfleet/domain";
import { scoreBreakdown } from "@moonfleet/scoring";
import type { Snapshot, TokenListItem, TokenRecord } from "@moonfleet/store";

/** One row of `GET /tokens`: what an operator scans a page for. */
export function tokenRow({ token, snapshot }: TokenListItem, now: number) {
  const m = snapshot?.metrics;
  const fetchedAt = snapshot ? isoOrNull(snapshot.fetchedAt) : null;
  return {
    mint: token.mint,
    name: snapshot?.name ?? token.name,
    symbol: snapshot?.symbol ?? token.symbol,
    status: token.status,
    lane: laneOf(token.status),
    score: snapshot?.score ?? null,
    smoothedScore: snapshot?.smoothedScore ?? null,
    band: snapshot?.band ?? null,
    liquidityUsd: m?.liquidityUsd ?? null,
    tx5m: m?.tx5m ?? null,
    priceChange5m: m?.priceChange5m ?? null,
    priceChange1h: m?.priceChange1h ?? null,
    primaryDex: m?.primaryDex ?? null,
    primaryPoolType: m?.primaryPoolType ?? null,
    createdAt: isoOrNull(token.createdAt),
    fetchedAt,
    stalenessSeconds:
      snapshot && fetchedAt ? Math.max(0, Math.round((now - snapshot.fetchedAt) / 100) / 10) : null,
  };
}

/** The columns of a row, in order: the CSV export's header. */
export const TOKEN_ROW_COLUMNS = [
  "mint",
  "name",
  "symbol",
  "status",
  "lane",
  "score",
  "smoothedScore",
  "band",
  "liquidityUsd",
  "tx5m",
  "priceChange5m",
  "priceChange1h",
  "primaryDex",
  "primaryPoolType",
  "createdAt",
  "fetchedAt",
  "stalenessSeconds",
] as const satisfies ReadonlyArray<keyof ReturnType<typeof tokenRow>>;

export function tokenDetail(token: TokenRecord, snapshot: Snapshot | null, now: number) {
  return {
    ...tokenRow({ token, snapshot }, now),
    registeredAt: isoOrNull(token.registeredAt),
    lastGoodScoreAt: token.lastGoodScoreAt ? isoOrNull(token.lastGoodScoreAt) : null,
    activeSince: token.activeSince ? isoOrNull(token.activeSince) : null,
    components: snapshot?.components ?? null,
    smoothed: snapshot?.smoothed ?? null,
    metrics: snapshot?.metrics ?? null,
    /** Why it scores what it scores: the weighted components, from the scoring package. */
    breakdown: snapshot ? scoreBreakdown(snapshot.components, snapshot.smoothed) : null,
  };
}

/**
 * A stored time as ISO 8601, or null when it is no date (beyond year 275760, or not a number):
 * an entry an older version let in must not turn every page that holds it into a 500.
 */
export function isoOrNull(ms: number): string | null {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
