import {
  LANES,
  MINTS_PER_CALL,
  type Lane,
  type PerLane,
  type SchedulingMode,
  type TokenClass,
} from "@moonfleet/domain";
import type { Config } from "./config.js";
import { ttlMs } from "./lanes.js";

// The value scheduler's decisions, as pure functions of plain values: what a refresh of a token is
// worth, when it is due (wanted) and when it must start at the latest (guaranteed), how a claim
// orders and packs tokens into 30-mint calls, and how the budget's pressure stretches the wanted
// intervals. The worker applies them when it commits a snapshot, the producer when it claims.

/** What the value scheduler reads from the config. */
export interface RefreshParams {
  readonly ttlMs: PerLane<number>;
  readonly maxStalenessFactor: number;
  readonly exportRefreshMs: number;
  readonly dueMarginMs: number;
  readonly exportMinScore: number;
  readonly exportExitScore: number;
}

export const refreshParams = (c: Config): RefreshParams => ({
  ttlMs: { hot: ttlMs(c, "hot"), cold: ttlMs(c, "cold") },
  maxStalenessFactor: c.maxStalenessFactor,
  exportRefreshMs: c.exportRefreshS * 1000,
  dueMarginMs: c.dueMarginMs,
  exportMinScore: c.exportMinScore,
  exportExitScore: c.exportExitScore,
});

/** Score units a token's raw score may drift, in expectation, before a refresh is worth one slot. */
export const DRIFT_TOLERANCE = 0.05;
/** No token is wanted more often than this, ms (the exported guarantee still holds). */
export const MIN_INTERVAL_MS = 1_000;
/** ... and no token outside the exports more often than this, ms. */
export const MIN_INTERVAL_UNEXPORTED_MS = 3_000;
/** Volatility a token has before two fetches tell (score units per second): learn it soon. */
export const VOLATILITY_PRIOR = 0.005;
/** Volatility every token is assumed to have at least: nothing is certain not to move. */
export const VOLATILITY_FLOOR = 0.0005;
/** Time constant of the volatility EWMA, ms. */
export const VOLATILITY_TAU_MS = 60_000;
/** Smoothed score distance below the exit threshold that counts as "near the exports". */
export const NEAR_EXPORT_BAND = 0.2;
/** Pressure bounds: 1 is the lanes' own targets, more stretches the wanted intervals. */
export const PRESSURE_MIN = 1;
export const PRESSURE_MAX = 64;

/**
 * The learned volatility after a fetch: an EWMA of |raw score change| per second between two
 * snapshots, weighted by the time between them (a long gap counts more than a short one).
 */
export function nextVolatility(
  previous: { readonly volatility: number | undefined; readonly score: number; readonly at: number } | null,
  score: number,
  at: number,
): number {
  if (!previous) return VOLATILITY_PRIOR;
  const dtMs = at - previous.at;
  const prior = previous.volatility ?? VOLATILITY_PRIOR;
  if (!(dtMs > 0) || !Number.isFinite(score) || !Number.isFinite(previous.score)) return prior;
  const rate = Math.abs(score - previous.score) / (dtMs / 1000);
  const alpha = 1 - Math.exp(-dtMs / VOLATILITY_TAU_MS);
  return prior + alpha * (rate - prior);
}

export interface RefreshInput {
  readonly lane: Lane;
  readonly exported: boolean;
  readonly smoothedScore: number;
  /** The raw score of the last fetch (the bots' "now"); the smoothed one when absent. */
  readonly rawScore?: number;
  /** Score units per second (nextVolatility). */
  readonly volatility: number;
}

/**
 * What one more refresh is worth per second of waiting: the expected drift of the served score
 * (volatility) times how much the bots care about this token (exported, near the export
 * threshold, its score, its lane). Used to order claims and to set the wanted interval.
 */
export function refreshValue(t: RefreshInput, p: RefreshParams): number {
  let weight = t.lane === "hot" ? 1 : 0.5;
  weight *= 1 + Math.max(0, Math.min(2, Math.max(t.smoothedScore, t.rawScore ?? t.smoothedScore)));
  if (t.exported) weight *= 6;
  else if (t.smoothedScore >= p.exportExitScore - NEAR_EXPORT_BAND) weight *= 3;
  return weight * (Math.max(0, t.volatility) + VOLATILITY_FLOOR);
}

/** The guaranteed longest wait between two refreshes, ms: EXPORT_REFRESH_S or the staleness floor. */
export const guaranteeMs = (lane: Lane, exported: boolean, p: RefreshParams): number =>
  exported ? Math.min(p.exportRefreshMs, floorMs(lane, p)) : floorMs(lane, p);

/** MAX_STALENESS_FACTOR x the lane's TTL, ms. */
export const floorMs = (lane: Lane, p: RefreshParams): number => p.maxStalenessFactor * p.ttlMs[lane];

export interface RefreshPlan {
  readonly value: number;
  /** When a refresh is wanted (the due schedule), epoch ms. */
  readonly dueAt: number;
  /** When the next refresh must start at the latest to keep the guarantee (the deadline schedule). */
  readonly deadlineAt: number;
}

/**
 * The plan after a fetch at `fetchedAt`. Wanted interval: the time the expected drift takes to reach
 * DRIFT_TOLERANCE at this token's value, stretched by the lane's budget pressure, at least
 * MIN_INTERVAL_MS (MIN_INTERVAL_UNEXPORTED_MS outside the exports) and at most the lane's target
 * (TTL - margin) times the pressure (nextPressures stretches cold first, hot only once cold is at
 * its floor), never past the deadline. At pressure 1 no token waits longer than SCHEDULING=lanes
 * would make it. Deadline: the guarantee (the floor, or EXPORT_REFRESH_S for an exported token)
 * minus the due margin.
 */
export function refreshPlan(
  t: RefreshInput,
  fetchedAt: number,
  pressure: number,
  p: RefreshParams,
): RefreshPlan {
  const value = refreshValue(t, p);
  const hardMs = Math.max(MIN_INTERVAL_MS, guaranteeMs(t.lane, t.exported, p) - p.dueMarginMs);
  const press = Math.min(PRESSURE_MAX, Math.max(PRESSURE_MIN, pressure));
  const targetMs = Math.max(MIN_INTERVAL_MS, p.ttlMs[t.lane] - p.dueMarginMs);
  const laneCapMs = press * targetMs;
  const minMs = t.exported ? MIN_INTERVAL_MS : MIN_INTERVAL_UNEXPORTED_MS;
  const wantedMs = (1000 * press * DRIFT_TOLERANCE) / value;
  const intervalMs = Math.min(hardMs, laneCapMs, Math.max(minMs, wantedMs));
  return { value, dueAt: fetchedAt + intervalMs, deadlineAt: fetchedAt + hardMs };
}

/** The pressure at which a lane's target (TTL - margin) reaches its floor: more only cuts bonuses. */
export const floorPressure = (lane: Lane, p: RefreshParams): number =>
  Math.min(
    PRESSURE_MAX,
    Math.max(PRESSURE_MIN, (floorMs(lane, p) - p.dueMarginMs) / Math.max(1, p.ttlMs[lane] - p.dueMarginMs)),
  );

/**
 * The next pressure per lane from how late the wanted refreshes start (each lane's oldest due
 * token's wait). While a lane is late past the target the budget does not cover what the values
 * want: the cold lane stretches first (x1.05 a tick), up to its floor; only then the hot lane.
 * When no lane is late they relax (/1.02), hot first. Slowly both ways: a new pressure reaches a
 * token only at its next refresh, and a fast loop would overshoot.
 */
export function nextPressures(
  pressure: PerLane<number>,
  latenessMs: PerLane<number>,
  targetMs: number,
  p: RefreshParams,
): Record<Lane, number> {
  const clamp = (v: number, lane: Lane) =>
    Math.min(floorPressure(lane, p), Math.max(PRESSURE_MIN, Number.isFinite(v) ? v : PRESSURE_MIN));
  const next = { hot: clamp(pressure.hot, "hot"), cold: clamp(pressure.cold, "cold") };
  const late = LANES.some((l) => latenessMs[l] > targetMs);
  const calm = LANES.every((l) => latenessMs[l] < targetMs / 2);
  if (late) {
    if (next.cold < floorPressure("cold", p)) next.cold = clamp(next.cold * 1.05, "cold");
    else next.hot = clamp(next.hot * 1.05, "hot");
  } else if (calm) {
    if (next.hot > PRESSURE_MIN) next.hot = clamp(next.hot / 1.02, "hot");
    else next.cold = clamp(next.cold / 1.02, "cold");
  }
  return next;
}

/** A claimed token as the packing sees it. */
export interface ClaimedToken {
  readonly mint: string;
  readonly value: number;
  readonly deadlineAt: number;
}

/** Most valuable first, earliest deadline first among equals (then by mint, so the order is total). */
export const claimOrder = (a: ClaimedToken, b: ClaimedToken): number =>
  b.value - a.value || a.deadlineAt - b.deadlineAt || (a.mint < b.mint ? -1 : a.mint > b.mint ? 1 : 0);

/**
 * Packs claimed tokens into groups of `perGroup` (a job; a multiple of the 30 mints of a call keeps
 * each call full), the most valuable first, so a budget that runs short spends what it has on them.
 */
export function packCalls(tokens: readonly ClaimedToken[], perGroup: number = MINTS_PER_CALL): string[][] {
  const size = Math.max(1, Math.floor(perGroup));
  const sorted = [...tokens].sort(claimOrder);
  const out: string[][] = [];
  for (let i = 0; i < sorted.length; i += size) out.push(sorted.slice(i, i + size).map((t) => t.mint));
  return out;
}

/** A scheduled token as the claim sees it (the due and deadline schedules' scores). */
export interface ScheduledToken {
  readonly mint: string;
  readonly dueAt: number;
  readonly deadlineAt: number;
}

/**
 * Which tokens a claim takes, the rule the claim script applies in Redis: first every token whose
 * deadline falls within `leadMs` (earliest deadline first), then tokens that are due (earliest due
 * first), at most `max`. Urgent tokens never wait behind wanted ones, so the guarantee holds
 * whenever the budget covers the deadlines, whatever the values want.
 */
export function selectClaims(
  tokens: readonly ScheduledToken[],
  now: number,
  max: number,
  leadMs: number,
): string[] {
  const urgent = tokens
    .filter((t) => t.deadlineAt <= now + leadMs)
    .sort((a, b) => a.deadlineAt - b.deadlineAt)
    .slice(0, max);
  const taken = new Set(urgent.map((t) => t.mint));
  const wanted = tokens
    .filter((t) => !taken.has(t.mint) && t.dueAt <= now)
    .sort((a, b) => a.dueAt - b.dueAt)
    .slice(0, Math.max(0, max - urgent.length));
  return [...urgent, ...wanted].map((t) => t.mint);
}

/** Mint slots per producer tick the budget pays for: UPSTREAM_RPM calls a minute of 30 mints. */
export const slotsPerTick = (upstreamRpm: number, tickMs: number): number =>
  Math.max(MINTS_PER_CALL, Math.floor(((upstreamRpm * tickMs) / 60_000) * MINTS_PER_CALL));

/**
 * Tokens per second the staleness floor needs (each token once per floor interval) against what
 * the budget pays for: the floor is covered while the first is at most the second.
 */
export function floorCoverage(
  tokens: PerLane<number>,
  upstreamRpm: number,
  p: RefreshParams,
  exported = 0,
): { neededPerS: number; budgetPerS: number; covered: boolean } {
  let neededPerS = 0;
  for (const lane of LANES) neededPerS += tokens[lane] / ((floorMs(lane, p) - p.dueMarginMs) / 1000);
  neededPerS += exported / Math.max(1, (p.exportRefreshMs - p.dueMarginMs) / 1000);
  const budgetPerS = (upstreamRpm / 60) * MINTS_PER_CALL;
  return { neededPerS, budgetPerS, covered: neededPerS <= budgetPerS };
}

/**
 * The class of a token: exported, else top 50 by score, else its status's class. Archived tokens
 * have none.
 */
export function tokenClass(t: {
  readonly lane: Lane | null;
  readonly exported: boolean;
  readonly top: boolean;
}): TokenClass | null {
  if (t.exported) return "exported";
  if (t.top) return "top50";
  if (t.lane === "hot") return "active";
  if (t.lane === "cold") return "monitoring";
  return null;
}

/** The scheduling in effect: the legacy path (optimization off) always runs the lanes. */
export const schedulingMode = (c: Config): SchedulingMode =>
  c.enableSchedulerOptimization ? c.scheduling : "lanes";
