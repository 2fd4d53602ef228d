import { laneOf } from "@moonfleet/domain";
import type { Snapshot, TokenListItem, TokenRecord } from "@moonfleet/store";

/** One row of `GET /tokens`: what an operator scans a page for. */
export function tokenRow({ token, snapshot }: TokenListItem, now: number) {
  const m = snapshot?.metrics;
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
    createdAt: iso(token.createdAt),
    fetchedAt: snapshot ? iso(snapshot.fetchedAt) : null,
    stalenessSeconds: snapshot ? Math.max(0, Math.round((now - snapshot.fetchedAt) / 100) / 10) : null,
  };
}

export function tokenDetail(token: TokenRecord, snapshot: Snapshot | null, now: number) {
  return {
    ...tokenRow({ token, snapshot }, now),
    registeredAt: iso(token.registeredAt),
    lastGoodScoreAt: token.lastGoodScoreAt ? iso(token.lastGoodScoreAt) : null,
    activeSince: token.activeSince ? iso(token.activeSince) : null,
    components: snapshot?.components ?? null,
    smoothed: snapshot?.smoothed ?? null,
    metrics: snapshot?.metrics ?? null,
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
