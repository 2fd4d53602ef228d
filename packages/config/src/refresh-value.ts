import {
  LANES,
  MINTS_PER_CALL,
  type ClaimLimits,
  type ClaimTier,
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
/**
 * Share of a guarantee kept as slack before it: the deadline the claim works to is this much
 * earlier, so a burst of deadlines (tokens fetched together come due together) or a queue that
 * runs a little long still starts each refresh within the guarantee. 8 % left cold 0.6-12 s past
 * its 120 s floor in five over-budget runs (the claim ran up to 2.4 s behind cold's deadlines when
 * hot's exported and first-share calls came together); 10 % gives it 2.4 s more for ~2 % of the
 * budget.
 */
export const DEADLINE_SLACK = 0.1;
/**
 * Share of an interval at its cap (the deadline, or the lane's stretched target) taken off at
 * random per fetch: tokens fetched together drift apart instead of coming due together forever.
 */
export const INTERVAL_JITTER = 0.08;
/** Pressure bounds: 1 is the lanes' own targets, more stretches the wanted intervals. */
export const PRESSURE_MIN = 1;
export const PRESSURE_MAX = 64;
/**
 * Pressure that only takes back the bonuses (tokens wanted sooner than their lane's target, for
 * their volatility or the exports) before any token of the lane waits past its target: the lane's
 * cap stretches by pressure / BONUS_PRESSURE once the pressure is above it. A few volatile tokens
 * that want more than the budget leaves slow down themselves, not every quiet token of their lane.
 */
export const BONUS_PRESSURE = 2;

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
  // near the exports: the smoothed score, or a raw score that just jumped (a rising token)
  else if (Math.max(t.smoothedScore, t.rawScore ?? -Infinity) >= p.exportExitScore - NEAR_EXPORT_BAND)
    weight *= 3;
  return weight * (Math.max(0, t.volatility) + VOLATILITY_FLOOR);
}

/** The guaranteed longest wait between two refreshes, ms: EXPORT_REFRESH_S or the staleness floor. */
export const guaranteeMs = (lane: Lane, exported: boolean, p: RefreshParams): number =>
  exported ? Math.min(p.exportRefreshMs, floorMs(lane, p)) : floorMs(lane, p);

/** A lane's own target between two refreshes, ms: its TTL less the due margin (pressure 1). */
export const laneTargetMs = (lane: Lane, p: RefreshParams): number =>
  Math.max(MIN_INTERVAL_MS, p.ttlMs[lane] - p.dueMarginMs);

/** MAX_STALENESS_FACTOR x the lane's TTL, ms. */
export const floorMs = (lane: Lane, p: RefreshParams): number => p.maxStalenessFactor * p.ttlMs[lane];

/**
 * The longest interval a plan gives between a fetch and its deadline, ms: the guarantee less its
 * slack (DEADLINE_SLACK) and the due margin.
 */
export const deadlineIntervalMs = (lane: Lane, exported: boolean, p: RefreshParams): number =>
  Math.max(MIN_INTERVAL_MS, guaranteeMs(lane, exported, p) * (1 - DEADLINE_SLACK) - p.dueMarginMs);

/**
 * The deadline of a token that just entered the exports: its exported guarantee counted from its
 * last fetch (deadlineIntervalMs), so a snapshot already older than an exported token may be is
 * refreshed at once (the deadline is `now`), not a whole EXPORT_REFRESH_S after the entry.
 */
export function entryDeadline(lane: Lane, fetchedAt: number, now: number, p: RefreshParams): number {
  const intervalMs = deadlineIntervalMs(lane, true, p);
  return Math.max(now, Math.min(now, fetchedAt) + intervalMs);
}

/**
 * A number in [0, 1) that differs from fetch to fetch and token to token, from the fetch time and
 * the score (pure: the same fetch always gets the same one).
 */
export function fetchJitter(fetchedAt: number, score: number): number {
  const x =
    Math.sin((fetchedAt % 1_000_003) * 12.9898 + (Number.isFinite(score) ? score : 0) * 78.233) * 43758.5453;
  return x - Math.floor(x);
}

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
 * (TTL - margin), stretched by laneStretch once the pressure has taken back the bonuses
 * (nextPressures stretches cold first, hot only once cold is at its floor), never past the deadline. At pressure 1 no token waits longer than SCHEDULING=lanes
 * would make it. Deadline: the guarantee (the floor, or EXPORT_REFRESH_S for an exported token)
 * less its slack and the due margin (deadlineIntervalMs). An interval at its cap, and the deadline,
 * lose up to INTERVAL_JITTER at random (fetchJitter), so tokens fetched together come due apart.
 */
export function refreshPlan(
  t: RefreshInput,
  fetchedAt: number,
  pressure: number,
  p: RefreshParams,
): RefreshPlan {
  const value = refreshValue(t, p);
  const hardMs = deadlineIntervalMs(t.lane, t.exported, p);
  const press = Math.min(PRESSURE_MAX, Math.max(PRESSURE_MIN, pressure));
  const targetMs = laneTargetMs(t.lane, p);
  const laneCapMs = targetMs * laneStretch(press);
  const minMs = t.exported ? MIN_INTERVAL_MS : MIN_INTERVAL_UNEXPORTED_MS;
  const wantedMs = (1000 * press * DRIFT_TOLERANCE) / value;
  const capMs = Math.min(hardMs, laneCapMs);
  // At its cap an interval loses up to INTERVAL_JITTER, so tokens fetched together spread out.
  const jitter = 1 - INTERVAL_JITTER * fetchJitter(fetchedAt, t.rawScore ?? t.smoothedScore);
  const intervalMs =
    wantedMs >= capMs ? Math.max(MIN_INTERVAL_MS, capMs * jitter) : Math.max(minMs, wantedMs);
  const deadlineMs = Math.max(MIN_INTERVAL_MS, hardMs * jitter);
  return {
    value,
    dueAt: fetchedAt + Math.min(intervalMs, deadlineMs),
    deadlineAt: fetchedAt + deadlineMs,
  };
}

/** How far a pressure stretches a lane's target: not at all up to BONUS_PRESSURE (bonuses go first). */
export const laneStretch = (pressure: number): number => Math.max(1, pressure / BONUS_PRESSURE);

/** The pressure at which a lane's target (TTL - margin) reaches its floor: more only cuts bonuses. */
export const floorPressure = (lane: Lane, p: RefreshParams): number =>
  Math.min(
    PRESSURE_MAX,
    Math.max(
      PRESSURE_MIN,
      (BONUS_PRESSURE * deadlineIntervalMs(lane, false, p)) / Math.max(1, p.ttlMs[lane] - p.dueMarginMs),
    ),
  );

/**
 * The next pressure per lane from how late the wanted refreshes start (each lane's oldest due
 * token's wait). A lane stretches (x1.05 a tick) only while it is late itself: the cold lane first,
 * up to its floor; the hot lane once cold is at its floor or on time (the hot lane's own demand is
 * above what the budget leaves it), so cold running late never stretches hot. A lane on time
 * (under half the target) relaxes (/1.02), hot first. Slowly both ways: a new pressure reaches a
 * token only at its next refresh, and a fast loop would overshoot.
 */
export function nextPressures(
  pressure: PerLane<number>,
  latenessMs: PerLane<number>,
  targetMs: number,
  p: RefreshParams,
  hotCeiling: number = floorPressure("hot", p),
): Record<Lane, number> {
  const top = (lane: Lane) => Math.min(floorPressure(lane, p), lane === "hot" ? hotCeiling : Infinity);
  const clamp = (v: number, lane: Lane) =>
    Math.min(top(lane), Math.max(PRESSURE_MIN, Number.isFinite(v) ? v : PRESSURE_MIN));
  const next = { hot: clamp(pressure.hot, "hot"), cold: clamp(pressure.cold, "cold") };
  const late = (l: Lane) => latenessMs[l] > targetMs;
  const calm = (l: Lane) => latenessMs[l] < targetMs / 2;
  const coldAtFloor = next.cold >= floorPressure("cold", p);
  if (late("cold") && !coldAtFloor) next.cold = clamp(next.cold * 1.05, "cold");
  if (late("hot") && (coldAtFloor || !late("cold"))) next.hot = clamp(next.hot * 1.05, "hot");
  if (calm("hot") && next.hot > PRESSURE_MIN) next.hot = clamp(next.hot / 1.02, "hot");
  else if (calm("cold") && calm("hot")) next.cold = clamp(next.cold / 1.02, "cold");
  return next;
}

/**
 * The most pressure the hot lane needs: past BONUS_PRESSURE only as far as its tokens at their
 * target (TTL - margin, less the jitter) need more than the share of the budget beyond the cold
 * floor (hotFirstShare). Hot tokens that came due together make the lane late for a call or two;
 * that lateness takes back bonuses, it does not stretch every hot token past its TTL while the
 * budget pays for them.
 */
export function hotPressureCeiling(tokens: PerLane<number>, upstreamRpm: number, p: RefreshParams): number {
  const hotPerS = tokens.hot / ((laneTargetMs("hot", p) * (1 - INTERVAL_JITTER)) / 1000);
  const sharePerS = hotFirstShare(tokens.cold, upstreamRpm, p) * budgetPerMs(upstreamRpm) * 1000;
  const need = sharePerS > 0 ? hotPerS / sharePerS : Infinity;
  return Math.min(floorPressure("hot", p), BONUS_PRESSURE * Math.max(1, need));
}

/**
 * The share of the budget the hot lane's wanted tokens may take before the cold lane's urgent
 * ones (the producer hands it out as a credit that grows at this share of the budget's rate): what the budget pays for beyond the cold lane's staleness floor (every cold token once per
 * its shortest deadline interval). The rest goes to cold's deadlines first, so hot stays at its
 * TTL while the budget has room and the cold floor holds whatever hot wants. While a cold deadline
 * has passed by more than a tick (`coldLateMs`: tokens fetched together came due together), the
 * share shrinks with that lateness and is gone once the lateness has used HOT_SHARE_SLACK of the
 * cold slack (coldSlackMs, what lies between a deadline and the floor): cold catches up in the
 * rest before its floor, and a few seconds of cold lateness inside the guarantee do not stop hot
 * at once.
 */
export function hotFirstShare(
  coldTokens: number,
  upstreamRpm: number,
  p: RefreshParams,
  coldLateMs = 0,
  tickMs = 1_000,
): number {
  const budgetPerS = budgetPerMs(upstreamRpm) * 1000;
  if (!(budgetPerS > 0)) return 0;
  const coldPerS = coldTokens / (shortestDeadlineMs("cold", false, p) / 1000);
  const share = Math.max(0, Math.min(1, 1 - coldPerS / budgetPerS));
  if (!(coldLateMs > tickMs)) return share;
  return share * Math.max(0, 1 - coldLateMs / Math.max(tickMs, HOT_SHARE_SLACK * coldSlackMs(p)));
}

/**
 * The part of the cold slack a cold deadline's lateness may use before hot's first share is gone:
 * the rest is cold's to catch up in (with the whole slack, cold's worst was 121.5 s against a 120 s
 * floor in the 20-minute over-budget run: the slack was spent twice, by bunched deadlines and by
 * hot's share).
 */
export const HOT_SHARE_SLACK = 0.5;

/** What lies between a deadline and its guarantee, ms: the slack and the due margin. */
export const guaranteeSlackMs = (lane: Lane, exported: boolean, p: RefreshParams): number =>
  Math.max(0, guaranteeMs(lane, exported, p) - deadlineIntervalMs(lane, exported, p));

/**
 * How late cold's queue runs, ms: how far `now` is past the earliest start-by of cold's jobs not
 * done yet (BatchJob.urgentAt, their tokens' earliest deadline less the claim's lead: a job still
 * queued then is late for its deadline; null when none says). The schedules do not show it: a
 * claimed token's deadline moves past its lease. The budget serves hot first
 * (UPSTREAM_HOT_RESERVE), so every hot job claimed while a cold job waits is fetched before it;
 * with hot's wanted tokens taking each slot the budget freed, a queued cold job waited 10-36 s and
 * cold tokens were 38-63 s stale against a 20 s floor (300 tokens at 60 rpm, 4 workers). While this
 * is above 0, hot's wanted step beyond its first share takes nothing (ClaimLimits.hotYields), and
 * the share shrinks with it as with a late deadline (hotFirstShare).
 */
export const coldQueueLatenessMs = (now: number, earliestQueuedUrgentAt: number | null): number =>
  earliestQueuedUrgentAt === null ? 0 : Math.max(0, now - earliestQueuedUrgentAt);

/** What lies between a cold deadline and the cold floor, ms: the slack and the due margin. */
export const coldSlackMs = (p: RefreshParams): number => guaranteeSlackMs("cold", false, p);

/** The shortest interval a plan can give to its deadline (deadlineIntervalMs less all its jitter). */
const shortestDeadlineMs = (lane: Lane, exported: boolean, p: RefreshParams): number =>
  Math.max(MIN_INTERVAL_MS, deadlineIntervalMs(lane, exported, p) * (1 - INTERVAL_JITTER));

/** A claimed token as the packing sees it. */
export interface ClaimedToken {
  readonly mint: string;
  readonly value: number;
  readonly deadlineAt: number;
}

/** Most valuable first, earliest deadline first among equals (then by mint, so the order is total). */
export const claimOrder = (a: ClaimedToken, b: ClaimedToken): number =>
  b.value - a.value || a.deadlineAt - b.deadlineAt || (a.mint < b.mint ? -1 : a.mint > b.mint ? 1 : 0);

/** A job's size in mints: 30 or more is cut to whole calls of 30 (a job of 45 pays two calls). */
export const wholeCallGroup = (perGroup: number): number => {
  const asked = Math.max(1, Math.floor(perGroup));
  return asked >= MINTS_PER_CALL ? asked - (asked % MINTS_PER_CALL) : asked;
};

/**
 * Packs claimed tokens into groups of `perGroup` (a job, cut to whole calls: wholeCallGroup): first
 * the urgent ones (deadline at or before `urgentUntil`, earliest first: the guarantee does not wait
 * behind value), then the most valuable, so a budget that runs short spends what it has on them;
 * then `last` in their order (another lane's tokens that complete the last call).
 */
export function packCalls(
  tokens: readonly ClaimedToken[],
  perGroup: number = MINTS_PER_CALL,
  urgentUntil = -Infinity,
  last: readonly ClaimedToken[] = [],
): string[][] {
  const size = wholeCallGroup(perGroup);
  const urgent = (t: ClaimedToken) => t.deadlineAt <= urgentUntil;
  const sorted = [...tokens].sort(
    (a, b) =>
      Number(urgent(b)) - Number(urgent(a)) ||
      (urgent(a) ? a.deadlineAt - b.deadlineAt : 0) ||
      claimOrder(a, b),
  );
  const all = [...sorted, ...last];
  const out: string[][] = [];
  for (let i = 0; i < all.length; i += size) out.push(all.slice(i, i + size).map((t) => t.mint));
  return out;
}

/**
 * How far ahead of its deadline a lane's token is urgent, ms: a producer tick, plus the wait a job
 * claimed now has before its calls (the slots the budget serves before it, `aheadSlots`: hot's queue
 * for hot, which passes cold's; both for cold; and its own job's `jobSlots`, at the budget's rate).
 * At most half the slack of the lane's tightest guarantee (guaranteeSlackMs: the exported one for
 * hot, whose exported tokens would otherwise be urgent again right after each fetch), so a long
 * queue does not make every token urgent. A cold token claimed at its deadline with one tick of lead
 * still waited out that queue: that is where cold's guarantee was missed.
 */
export function urgentLeadMs(
  lane: Lane,
  aheadSlots: PerLane<number>,
  jobSlots: number,
  upstreamRpm: number,
  tickMs: number,
  p: RefreshParams,
): number {
  const rate = budgetPerMs(upstreamRpm);
  const before = lane === "hot" ? aheadSlots.hot : aheadSlots.hot + aheadSlots.cold;
  const waitMs = rate > 0 ? Math.max(0, before + jobSlots) / rate : 0;
  return tickMs + Math.min(waitMs, guaranteeSlackMs(lane, lane === "hot", p) / 2);
}

/**
 * When each packed group's job is to start at the latest: its tokens' earliest deadline less the
 * lead the claim gave them (`leadMs`, urgentLeadMs: the calls ahead of it at the budget's rate), so
 * a cold job takes the budget as hot (takesAs) while that lead still gets it through before the
 * deadline. At the deadline itself it was too late: hot calls whose cold top-ups had later
 * deadlines took the permits first, and cold tokens ran 4-6.6 s past their deadlines (300 tokens
 * at 60 rpm, four workers). A job of early tokens is not urgent until then; one with a token at
 * its deadline is at once. Undefined for a group with no deadline known (the claim read none: the
 * budget did not bind).
 */
export function groupDeadlines(
  groups: readonly (readonly string[])[],
  tokens: readonly ClaimedToken[],
  leadMs = 0,
): Array<number | undefined> {
  const deadline = new Map(tokens.map((t) => [t.mint, t.deadlineAt]));
  const lead = Number.isFinite(leadMs) ? Math.max(0, leadMs) : 0;
  return groups.map((g) => {
    let at: number | undefined;
    for (const m of g) {
      const d = deadline.get(m);
      if (d !== undefined && d > 0 && (at === undefined || d < at)) at = d;
    }
    return at === undefined ? undefined : Math.floor(at - lead);
  });
}

/** A scheduled token as the claim sees it (the due and deadline schedules' scores). */
export interface ScheduledToken {
  readonly mint: string;
  readonly dueAt: number;
  readonly deadlineAt: number;
}

/**
 * Which tokens a claim of one lane takes, in the order of the claim script's tiers (CLAIM_PLAN, whose
 * steps are bounded by stepMax; this model has one bound, `max`): first every token whose
 * deadline falls within `leadMs` (earliest deadline first), then the `exported` ones due within
 * `lookaheadMs`, then the other tokens that are due (earliest due first), then, while the budget still has room, the earliest deadlines ahead ("early": a budget
 * left idle now is a deadline missed later), at most `max`. Urgent tokens never wait behind wanted
 * ones, so the guarantee holds whenever the budget covers the deadlines, whatever the values want.
 */
export function selectClaims(
  tokens: readonly ScheduledToken[],
  now: number,
  max: number,
  leadMs: number,
  exported: ReadonlySet<string> = new Set(),
  lookaheadMs = 0,
): string[] {
  const byDeadline = (a: ScheduledToken, b: ScheduledToken) => a.deadlineAt - b.deadlineAt;
  const byDue = (a: ScheduledToken, b: ScheduledToken) => a.dueAt - b.dueAt;
  const taken = new Set<string>();
  const take = (picked: ScheduledToken[]) => {
    for (const t of picked) taken.add(t.mint);
    return picked;
  };
  const left = () => Math.max(0, max - taken.size);
  const urgent = take(
    tokens
      .filter((t) => t.deadlineAt <= now + leadMs)
      .sort(byDeadline)
      .slice(0, max),
  );
  const dueBy = (at: number) => (t: ScheduledToken) => !taken.has(t.mint) && t.dueAt <= at;
  const bots = take(
    tokens
      .filter((t) => exported.has(t.mint) && dueBy(now + lookaheadMs)(t))
      .sort(byDue)
      .slice(0, left()),
  );
  const wanted = take(tokens.filter(dueBy(now)).sort(byDue).slice(0, left()));
  const early = take(
    tokens
      .filter((t) => !taken.has(t.mint))
      .sort(byDeadline)
      .slice(0, left()),
  );
  return [...urgent, ...bots, ...wanted, ...early].map((t) => t.mint);
}

const step = (lane: Lane, tier: ClaimTier["tier"], o: Partial<ClaimTier> = {}): ClaimTier => ({
  lane,
  tier,
  hotFirst: false,
  topUp: false,
  ...o,
});

/**
 * The order a value claim takes the lanes' tiers in. Hot's urgent tokens, then its exported ones
 * due within the claim's lookahead, first within hot's credit (past it they would take the cold
 * floor's slots): claimed at the first tick after their due time, with the fetch taking a quarter
 * of a tick, an exported token wanted every second was fetched every two ticks (its readings 0.9 s
 * old at the median whether its wanted interval was 0.5 s or 1 s). Then hot's other wanted ones
 * within hot's credit (hotFirstShare of the budget's rate, the budget beyond the cold floor: hot keeps its TTL while cold
 * keeps its floor), then cold's urgent ones, then every lane's wanted ones, hot first. While the
 * budget binds, what is left goes early to the earliest deadlines ahead: first hot's last call is
 * completed with cold's earliest deadlines (`into` hot: cold's own work, so hot's credit pays only
 * for hot's tokens, and a few exported tokens go every tick: charged a whole call each time, the
 * credit of a 10,000-token registry paid for a hot call every 1.6 ticks), then with hot's (when
 * cold has none), then cold's last call, then cold's whole calls (a call left unspent now is a
 * deadline missed later; hot's queue stays short for the exported tokens).
 */
export function claimTiers(budgetBinds: boolean): ClaimTier[] {
  const tiers: ClaimTier[] = [
    step("hot", "urgent"),
    step("hot", "exported", { hotFirst: true }),
    step("hot", "wanted", { hotFirst: true }),
    step("cold", "urgent"),
    step("hot", "wanted"),
    step("cold", "wanted"),
  ];
  if (budgetBinds)
    tiers.push(
      step("cold", "early", { topUp: true, into: "hot" }),
      step("hot", "early", { topUp: true }),
      step("cold", "early", { topUp: true }),
      step("cold", "early"),
    );
  return tiers;
}

/**
 * How many tokens a step of a value claim may take, given what the claim holds so far per carrying
 * lane (`got`: what each lane's jobs will carry) and the budget it has left: the budget and the
 * carrying lane's room; a hotFirst step no more than hot's first share; a top-up only what completes
 * the carrying lane's last call (a call costs the same with 3 mints or 30); a wanted or early step
 * whole calls (with what the lane holds). Urgent and exported
 * steps take what they can (hot's past cold's queue, as its urgent ones): a deadline or the bots'
 * tokens are not traded for a full call; the next step completes it.
 */
export function stepMax(
  step: ClaimTier,
  got: PerLane<number>,
  budgetLeft: number,
  limits: ClaimLimits,
): number {
  // counted in the lane whose jobs carry the step's tokens (`got` is per carrying lane)
  const into = step.into ?? step.lane;
  const fill = Math.max(1, limits.fill[into]);
  const have = got[into];
  const room = Math.max(0, limits.room[into] - have);
  if (step.topUp) return Math.min(room, (fill - (have % fill)) % fill);
  if (limits.hotYields && step.lane === "hot" && step.tier === "wanted" && !step.hotFirst) return 0;
  const first = step.tier === "urgent" || step.tier === "exported";
  const passes = step.lane === "hot" && (first || step.hotFirst) ? limits.hotPasses : 0;
  let max = Math.min(Math.max(0, budgetLeft + passes), room);
  if (step.hotFirst) max = Math.min(max, Math.max(0, limits.hotFirst - got.hot));
  if (!first && max >= fill) max -= (have + max) % fill;
  return Math.max(0, max);
}

/**
 * What a value claim's hot jobs take off hot's credit: the calls that what hot claimed under its
 * first share makes (whole calls: a top-up completes a call the share began), less the slots
 * another lane's tokens took in them (cold's earliest deadlines completing the call are cold's own
 * work), never less than 0. `carried`: every token hot's jobs carry, each with its own lane.
 */
export function hotCreditSpent(
  carried: ReadonlyArray<{ readonly lane: Lane }>,
  hotFirst: number,
  fill: number,
): number {
  const perCall = Math.max(1, fill);
  const others = carried.filter((t) => t.lane !== "hot").length;
  const calls = Math.ceil(Math.min(carried.length, Math.max(0, hotFirst)) / perCall);
  return Math.max(0, calls * perCall - others);
}

/**
 * Calls a minute the budget pays for once its burst is spent: the fleet's token bucket refills at
 * UPSTREAM_RPM - UPSTREAM_BURST a minute (at least 1), so that no 60 s window holds more than
 * UPSTREAM_RPM calls. The scheduler's rates use this, not UPSTREAM_RPM: at 60 rpm and a burst of 4,
 * a share planned on 30 mints/s had 28.
 */
export const sustainedRpm = (c: Pick<Config, "upstreamRpm" | "upstreamBurst">): number =>
  Math.max(1, c.upstreamRpm - c.upstreamBurst);

/** Mint slots per ms the budget pays for: `upstreamRpm` calls a minute of 30 mints (sustainedRpm). */
export const budgetPerMs = (upstreamRpm: number): number =>
  (Math.max(0, upstreamRpm) / 60_000) * MINTS_PER_CALL;

/**
 * A share of the budget as a credit: it grows at `ratePerMs` for the time since the last claim, up to
 * `cap`, and what a claim spends under the share is taken off it, down to -cap (a whole call spent on
 * a little credit is paid back before the share goes first again). A share handed out per claim
 * instead would grow with how often the producer claims, not with what the budget pays for.
 */
export function accrueCredit(credit: number, elapsedMs: number, ratePerMs: number, cap: number): number {
  const c = Math.max(0, cap);
  const grown = credit + Math.max(0, elapsedMs) * Math.max(0, ratePerMs);
  return Math.max(-c, Math.min(c, Number.isFinite(grown) ? grown : 0));
}

/** Mint slots per producer tick the budget pays for: UPSTREAM_RPM calls a minute of 30 mints. */
export const slotsPerTick = (upstreamRpm: number, tickMs: number): number =>
  Math.max(MINTS_PER_CALL, Math.floor(((upstreamRpm * tickMs) / 60_000) * MINTS_PER_CALL));

/**
 * Tokens per second the staleness floor needs (each token once per its shortest deadline interval,
 * the guarantee less slack, margin and jitter) against what
 * the budget pays for: the floor is covered while the first is at most the second.
 */
export function floorCoverage(
  tokens: PerLane<number>,
  upstreamRpm: number,
  p: RefreshParams,
  exported = 0,
): { neededPerS: number; budgetPerS: number; covered: boolean } {
  let neededPerS = 0;
  for (const lane of LANES) neededPerS += tokens[lane] / (shortestDeadlineMs(lane, false, p) / 1000);
  neededPerS += exported / (shortestDeadlineMs("hot", true, p) / 1000);
  const budgetPerS = budgetPerMs(upstreamRpm) * 1000;
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
