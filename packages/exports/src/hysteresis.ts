import type { Lane } from "@moonfleet/domain";
import type { ExportCandidate, ExportPool } from "./candidate.js";
import { judge, maxStalenessOf, type ExclusionReason, type Judged } from "./selection.js";
import type { ExportSettings } from "./settings.js";

/** One exported token: what the formats print, plus the hysteresis's memory of it. */
export interface ExportMember {
  readonly mint: string;
  readonly symbol: string | null;
  readonly name: string | null;
  readonly smoothedScore: number;
  readonly band: string;
  readonly fetchedAt: number;
  /** The staleness bound that applied to it; the routes apply it again at serve time. */
  readonly maxStalenessMs: number;
  /** When it entered the set. */
  readonly since: number;
  /** Since when it has been out of the top N; null while in it. */
  readonly outOfTopSince: number | null;
  /** The exported pools, most liquid first when chosen. */
  readonly pools: readonly ExportPool[];
}

export interface ExportState {
  /** Increases with every change the bots see (members, their pools or symbols). */
  readonly version: number;
  readonly changedAt: number;
  /** Sorted by mint, so the bots' lists do not reorder on score noise. */
  readonly members: readonly ExportMember[];
}

export const EMPTY_EXPORT_STATE: ExportState = { version: 0, changedAt: 0, members: [] };

/** A token held at the door of the export set until its snapshot is fresh enough to enter. */
export interface HeldEntry {
  readonly mint: string;
  readonly lane: Lane;
  readonly fetchedAt: number;
}

export type LeaveReason = Exclude<ExclusionReason, "below_min"> | "out_of_top";
export interface SetChange {
  readonly mint: string;
  readonly symbol: string | null;
  readonly reason: "qualified" | LeaveReason;
}

export interface StepResult {
  readonly state: ExportState;
  readonly entered: readonly SetChange[];
  readonly left: readonly SetChange[];
  /** Members whose pool list (or symbol) changed without leaving. */
  readonly updated: readonly string[];
  /**
   * Tokens that would enter but whose snapshot is older than entryMaxAgeMs: their slots stay free
   * for them, and the exporter has them refreshed at once.
   */
  readonly held: readonly HeldEntry[];
  readonly changed: boolean;
  /** Candidates not exported, by reason (what the health shows when the list is empty). */
  readonly excluded: Readonly<Record<ExclusionReason, number>>;
}

/**
 * A member keeps its pools while they still trade and no outsider is this much more liquid than the
 * weakest of them, so two pools of similar depth swapping places do not make every bot reload.
 */
export const POOL_SWAP_MARGIN = 1.25;

function samePools(a: readonly ExportPool[], b: readonly ExportPool[]): boolean {
  return a.length === b.length && a.every((p, i) => p.address === b[i]?.address);
}

/** The pools a member exports now: the previous ones when still good enough, else the top K. */
export function stickyPools(
  previous: readonly ExportPool[],
  tradable: readonly ExportPool[],
  perToken: number,
): ExportPool[] {
  const top = tradable.slice(0, perToken);
  if (previous.length !== top.length) return top;
  const now = new Map(tradable.map((p) => [p.address, p]));
  const kept = previous.map((p) => now.get(p.address));
  if (kept.some((p) => p === undefined)) return top;
  const keptPools = kept as ExportPool[];
  const weakest = Math.min(...keptPools.map((p) => p.liquidityUsd));
  const keptSet = new Set(previous.map((p) => p.address));
  const challenger = tradable.find((p) => !keptSet.has(p.address));
  if (challenger && challenger.liquidityUsd > weakest * POOL_SWAP_MARGIN) return top;
  // Same pools, same order; fresh liquidity figures.
  return keptPools;
}

const byScore = (a: Judged, b: Judged): number =>
  b.candidate.smoothedScore - a.candidate.smoothedScore ||
  (a.candidate.mint < b.candidate.mint ? -1 : a.candidate.mint > b.candidate.mint ? 1 : 0);

function memberOf(
  j: Judged,
  pools: ExportPool[],
  since: number,
  outOfTopSince: number | null,
  s: ExportSettings,
): ExportMember {
  const c = j.candidate;
  return {
    mint: c.mint,
    symbol: c.symbol,
    name: c.name,
    smoothedScore: c.smoothedScore,
    band: c.band,
    fetchedAt: c.fetchedAt,
    maxStalenessMs: maxStalenessOf(c, s),
    since,
    outOfTopSince,
    pools,
  };
}

/**
 * One tick of the export set. A token enters when it is in the top N with a smoothed score of at
 * least minScore and a slot is free (and, with entryMaxAgeMs, a snapshot no older: else it is held,
 * its slot kept); a member leaves at once when it goes stale, loses its route,
 * stops being active or falls below exitScore, and after minHoldMs out of the top N otherwise.
 * `candidates` are the latest snapshots of the best-ranked active tokens and of every member. Pure.
 */
export function stepExport(
  prev: ExportState,
  candidates: readonly ExportCandidate[],
  now: number,
  s: ExportSettings,
): StepResult {
  const judged = new Map<string, Judged>();
  for (const c of candidates) judged.set(c.mint, judge(c, now, s));
  const excluded: Record<ExclusionReason, number> = {
    inactive: 0,
    stale: 0,
    no_route: 0,
    below_exit: 0,
    below_min: 0,
  };
  // The ranking: members down to the exit score, others from the entry score (a token that may not
  // enter does not push a member out of the top N).
  const held = new Set(prev.members.map((m) => m.mint));
  const ranked = [...judged.values()]
    .filter(
      (j) =>
        j.excluded === null &&
        j.candidate.smoothedScore >= (held.has(j.candidate.mint) ? s.exitScore : s.minScore),
    )
    .sort(byScore);
  const top = new Set(ranked.slice(0, s.topN).map((j) => j.candidate.mint));

  const members: ExportMember[] = [];
  const entered: SetChange[] = [];
  const left: SetChange[] = [];
  const updated: string[] = [];
  const leave = (m: ExportMember, reason: LeaveReason) =>
    left.push({ mint: m.mint, symbol: m.symbol, reason });

  for (const m of prev.members) {
    const j = judged.get(m.mint);
    if (!j) leave(m, "inactive");
    else if (j.excluded) leave(m, j.excluded);
    else if (!(j.candidate.smoothedScore >= s.exitScore)) leave(m, "below_exit");
    else {
      const outOfTopSince = top.has(m.mint) ? null : (m.outOfTopSince ?? now);
      if (outOfTopSince !== null && now - outOfTopSince >= s.minHoldMs) leave(m, "out_of_top");
      else {
        const pools = stickyPools(m.pools, j.pools, s.poolsPerToken);
        const next = memberOf(j, pools, m.since, outOfTopSince, s);
        if (!samePools(m.pools, pools) || m.symbol !== next.symbol) updated.push(m.mint);
        members.push(next);
      }
    }
  }

  const waiting: HeldEntry[] = [];
  for (const j of ranked) {
    if (members.length + waiting.length >= s.topN) break;
    const c = j.candidate;
    if (held.has(c.mint) || !top.has(c.mint)) continue;
    if (s.entryMaxAgeMs !== undefined && now - c.fetchedAt > s.entryMaxAgeMs) {
      // the bots would trade on a snapshot older than a member's may be: wait for a fresh one
      waiting.push({ mint: c.mint, lane: c.lane ?? "hot", fetchedAt: c.fetchedAt });
      continue;
    }
    members.push(memberOf(j, j.pools.slice(0, s.poolsPerToken), now, null, s));
    entered.push({ mint: c.mint, symbol: c.symbol, reason: "qualified" });
  }

  const memberSet = new Set(members.map((m) => m.mint));
  for (const j of judged.values()) {
    if (memberSet.has(j.candidate.mint)) continue;
    if (j.excluded) excluded[j.excluded] += 1;
    else if (!(j.candidate.smoothedScore >= s.exitScore)) excluded.below_exit += 1;
    else if (!(j.candidate.smoothedScore >= s.minScore)) excluded.below_min += 1;
  }

  members.sort((a, b) => (a.mint < b.mint ? -1 : a.mint > b.mint ? 1 : 0));
  const changed = entered.length > 0 || left.length > 0 || updated.length > 0;
  return {
    state: {
      version: changed ? prev.version + 1 : prev.version,
      changedAt: changed ? now : prev.changedAt,
      members,
    },
    entered,
    left,
    updated,
    held: waiting,
    changed,
    excluded,
  };
}
