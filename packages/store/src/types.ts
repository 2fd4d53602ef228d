import type { Components, ScoreBand, TokenMetrics } from "@moonfleet/scoring";
import type { Lane, TokenSource, TokenStatus } from "@moonfleet/domain";

/** A registered token as the registry holds it. Times are epoch ms; null when not yet known. */
export interface TokenRecord {
  readonly mint: string;
  readonly name: string | null;
  readonly symbol: string | null;
  readonly status: TokenStatus;
  readonly createdAt: number;
  readonly registeredAt: number;
  readonly lastUpdatedAt: number;
  readonly fetchedAt: number | null;
  readonly lastGoodScoreAt: number | null;
  readonly activeSince: number | null;
  /** Where the token came from. */
  readonly source: TokenSource;
}

export interface NewToken {
  readonly mint: string;
  readonly name?: string | undefined;
  readonly symbol?: string | undefined;
  /** When the token left the bonding curve; defaults to now. */
  readonly createdAt?: number | undefined;
}

/** The latest scoring of one token, stored as JSON. */
export interface Snapshot {
  readonly mint: string;
  readonly name: string | null;
  readonly symbol: string | null;
  readonly status: TokenStatus;
  readonly lane: Lane | null;
  readonly fetchedAt: number;
  readonly score: number;
  readonly smoothedScore: number;
  readonly band: ScoreBand;
  /** Raw components of this refresh. */
  readonly components: Components;
  /** EWMA-smoothed components. */
  readonly smoothed: Components;
  readonly metrics: TokenMetrics;
  /** Learned |raw score change| per second (EWMA); absent in snapshots written before it was kept. */
  readonly volatility?: number;
}

/**
 * What the next scoring of a token needs from its last one: the smoothing's memory, the
 * volatility's, and whether it had pairs. Kept under a scoring key of its own (encodePrevious), so a
 * worker reads ~150 bytes a token instead of reading and parsing its whole snapshot (pools and all).
 */
export interface PreviousScoring {
  readonly fetchedAt: number;
  /** The raw score. */
  readonly score: number;
  readonly smoothedScore: number;
  readonly smoothed: Components;
  readonly volatility?: number;
  readonly pairCount: number;
}

/** A snapshot's PreviousScoring. */
export function previousScoringOf(s: Snapshot): PreviousScoring {
  return {
    fetchedAt: s.fetchedAt,
    score: s.score,
    smoothedScore: s.smoothedScore,
    smoothed: s.smoothed,
    ...(s.volatility !== undefined ? { volatility: s.volatility } : {}),
    pairCount: s.metrics.pairCount,
  };
}

export interface HistoryEntry {
  readonly t: number;
  readonly score: number;
  readonly smoothedScore: number;
  readonly status: TokenStatus;
  /** The token's liquidity (USD) and transactions in the last 5 minutes at that refresh (absent in entries written before they were kept). */
  readonly liquidityUsd?: number;
  readonly tx5m?: number;
}

/** What a worker writes back for one token. */
export interface TokenUpdate {
  readonly snapshot: Snapshot;
  /** When the token is due again in its (new) lane; ignored when archived. */
  readonly dueAt: number;
  /** The latest start of its next refresh that keeps the staleness guarantee; absent: dueAt. */
  readonly deadlineAt?: number;
  /** What a refresh of it is worth (the claim packs the most valuable first after the urgent); absent: 0. */
  readonly value?: number;
  readonly lastGoodScoreAt: number | null;
  readonly activeSince: number | null;
}

export type TokenSort = "score_desc" | "score_asc" | "updated_desc";

export interface ListQuery {
  readonly limit: number;
  readonly offset: number;
  readonly sort: TokenSort;
  readonly status?: TokenStatus | undefined;
  readonly lane?: Lane | undefined;
  readonly minScore?: number | undefined;
}

export interface TokenListItem {
  readonly token: TokenRecord;
  readonly snapshot: Snapshot | null;
}
