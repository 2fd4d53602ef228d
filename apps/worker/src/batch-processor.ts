import { LANES, laneOf, type Lane } from "@moonfleet/domain";
import {
  lanePolicies,
  nextVolatility,
  refreshParams,
  refreshPlan,
  schedulingMode,
  ttlMs,
  type Config,
} from "@moonfleet/config";
import type { BatchJob, BatchResult } from "@moonfleet/queues";
import { evaluateToken, type Pair } from "@moonfleet/scoring";
import type { PreviousScoring, Snapshot, TokenStore, TokenUpdate, TokenRecord } from "@moonfleet/store";
import {
  UpstreamPairsRejectedError,
  delayOf,
  type PairsGateway,
  type UpstreamError,
} from "@moonfleet/upstream";
import { fetchBatch } from "./fetch-pairs.js";
import { notNowOutcome, type JobNotNow } from "./job-outcome.js";

const HOUR_MS = 3_600_000;

export interface ProcessorDeps {
  /** The effective config, read per job so runtime changes apply to the next batch. */
  readonly config: () => Config;
  readonly store: TokenStore;
  readonly gateway: PairsGateway;
  readonly now?: () => number;
  /** Mints whose empty batch answer gets a fallback call; the processor fills it per job. */
  readonly fallbackWanted?: Set<string>;
  /** Mints that had pairs at their last fetch (an all-empty answer for several is a fault); filled per job. */
  readonly hadPairs?: Set<string>;
  /** When each mint's job was to start at the latest (the budget's takesAs); filled per job. */
  readonly urgentAt?: Map<string, number>;
  /** Mints the exports serve (the gateway hedges their calls); filled per job. */
  readonly exported?: Set<string>;
  readonly random?: () => number;
  /** Called once per distinct failure of a job, for logs. */
  readonly onFailure?: (lane: Lane, mints: number, err: UpstreamError) => void;
}

/** Retry a token whose call failed this soon, instead of waiting out its lease. */
export const RETRY_DELAY_MS = 1_000;

/**
 * When a mint whose every pair failed validation is tried again: after as long as it has been
 * stale (so the wait doubles with each failure), at least RETRY_DELAY_MS, at most `maxMs`, with
 * jitter so that the mints of one bad call do not meet in one call again.
 */
export function rejectedRetryDelayMs(staleForMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(Math.max(RETRY_DELAY_MS, staleForMs), Math.max(RETRY_DELAY_MS, maxMs));
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** What the value scheduler shares with the worker: pressure per lane and the exported mints. */
export interface ScheduleContext {
  readonly pressure: Readonly<Record<Lane, number>>;
  readonly exported: ReadonlySet<string>;
}
const NO_CONTEXT: ScheduleContext = { pressure: { hot: 1, cold: 1 }, exported: new Set() };

/**
 * The snapshot, due time, deadline and activity marks of a token scored from `pairs`. With
 * SCHEDULING=lanes the due time is fetchedAt + the lane's TTL - the margin, as it always was; with
 * `value` it comes from refreshPlan. The deadline and value are kept in both modes, so a switch at
 * runtime finds every token's schedule complete.
 */
export function toSnapshot(
  token: TokenRecord,
  pairs: readonly Pair[],
  previous: PreviousScoring | null,
  fetchedAt: number,
  config: Config,
  ctx: ScheduleContext = NO_CONTEXT,
): TokenUpdate {
  const e = evaluateToken({
    mint: token.mint,
    status: token.status,
    createdAt: token.createdAt,
    lastGoodScoreAt: token.lastGoodScoreAt,
    activeSince: token.activeSince,
    pairs,
    previous: previous ? { ...previous.smoothed, score: previous.smoothedScore } : null,
    now: fetchedAt,
    liquidityThresholdUsd: config.activationLiquidityUsd,
    monitoringWindowMs: config.monitoringTimeoutHours * HOUR_MS,
    activeWindowMs: config.archiveBelowHours * HOUR_MS,
  });
  const { score: rawScore, ...components } = e.raw;
  const { score: smoothedScore, ...smoothed } = e.smoothed;
  const snapshot: Snapshot = {
    mint: token.mint,
    name: e.name ?? token.name,
    symbol: e.symbol ?? token.symbol,
    status: e.status,
    lane: e.lane,
    fetchedAt,
    score: rawScore,
    smoothedScore,
    band: e.band,
    components,
    smoothed,
    metrics: e.metrics,
    volatility: nextVolatility(
      previous ? { volatility: previous.volatility, score: previous.score, at: previous.fetchedAt } : null,
      rawScore,
      fetchedAt,
    ),
  };
  const lanesDue = e.lane ? fetchedAt + ttlMs(config, e.lane) - config.dueMarginMs : fetchedAt;
  if (!e.lane) return { snapshot, dueAt: lanesDue, deadlineAt: fetchedAt, value: 0, ...marks(e) };
  const plan = refreshPlan(
    {
      lane: e.lane,
      exported: ctx.exported.has(token.mint),
      smoothedScore,
      rawScore,
      volatility: snapshot.volatility ?? 0,
    },
    fetchedAt,
    ctx.pressure[e.lane],
    refreshParams(config),
  );
  return {
    snapshot,
    dueAt: schedulingMode(config) === "value" ? plan.dueAt : lanesDue,
    deadlineAt: plan.deadlineAt,
    value: plan.value,
    ...marks(e),
  };
}

const marks = (e: { lastGoodScoreAt: number | null; activeSince: number | null }) => ({
  lastGoodScoreAt: e.lastGoodScoreAt,
  activeSince: e.activeSince,
});

/** What a batch did, and whether the upstream said "not now" for some of its tokens. */
export interface BatchOutcome extends BatchResult {
  /** The job's outcome when some tokens were told "not now": they run again with the job. */
  readonly notNow: JobNotNow | null;
  /** The longest "not now" wait asked (ms), null when none was. */
  readonly delayMs: number | null;
}

/** Scores one batch job: load, fetch, evaluate, commit; failed tokens are due again soon. */
export function createBatchProcessor(deps: ProcessorDeps) {
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { store, gateway } = deps;

  return async function processBatch(job: BatchJob): Promise<BatchOutcome> {
    const started = performance.now();
    const config = deps.config();
    // The value scheduler's context comes with the tokens: the producer publishes it once a tick.
    const { loaded, context } = await store.loadForScoring(job.mints);
    // Deleted, archived, or refreshed by another job since this batch was claimed (a delayed job
    // running late, or a re-claim after a lease ran out): nothing to fetch.
    const live = loaded.filter(
      (x) => x !== null && x.token.status !== "archived" && (x.previous?.fetchedAt ?? 0) < job.claimedAt,
    ) as Array<{ token: TokenRecord; previous: PreviousScoring | null }>;
    const mints = live.map((x) => x.token.mint);
    // A token that had pairs last time (or was never scored) and comes back empty gets one look at
    // all its pools before it counts as "no pairs"; one that had none stays cheap.
    const fallback = live.filter((x) => !x.previous || x.previous.pairCount > 0).map((x) => x.token.mint);
    const hadPairs = live.filter((x) => (x.previous?.pairCount ?? 0) > 0).map((x) => x.token.mint);
    for (const m of fallback) deps.fallbackWanted?.add(m);
    for (const m of hadPairs) deps.hadPairs?.add(m);
    const urgentAt = job.urgentAt;
    if (urgentAt !== undefined) for (const m of mints) deps.urgentAt?.set(m, urgentAt);
    const exported = mints.filter((m) => context.exported.has(m));
    for (const m of exported) deps.exported?.add(m);
    let outcome;
    try {
      outcome = await fetchBatch(gateway, job.lane, mints, lanePolicies(config)[job.lane].fetch);
    } finally {
      for (const m of fallback) deps.fallbackWanted?.delete(m);
      for (const m of hadPairs) deps.hadPairs?.delete(m);
      if (urgentAt !== undefined) for (const m of mints) deps.urgentAt?.delete(m);
      for (const m of exported) deps.exported?.delete(m);
    }

    const updates: TokenUpdate[] = [];
    for (const { token, previous } of live) {
      const got = outcome.fetched.get(token.mint);
      if (got) updates.push(toSnapshot(token, got.pairs, previous, got.fetchedAt, config, context));
    }
    await store.commit(updates);

    let notNow: JobNotNow | null = null;
    let deferred = 0;
    if (outcome.failed.size > 0) {
      const counts = new Map<UpstreamError, number>();
      for (const err of outcome.failed.values()) counts.set(err, (counts.get(err) ?? 0) + 1);
      for (const [err, n] of counts) deps.onFailure?.(job.lane, n, err);
      // "Not now" (429, breaker open, budget spent): the job waits and runs again for these tokens.
      // A malformed answer keeps the last good snapshot and waits a normal TTL; others retry soon.
      const retrySoon: string[] = [];
      const retryLater: string[] = [];
      const lastFetch = new Map(live.map((x) => [x.token.mint, x.previous?.fetchedAt ?? x.token.createdAt]));
      // each token waits by its own lane's TTL (a hot job may carry cold tokens)
      const ownLane = new Map(live.map((x) => [x.token.mint, laneOf(x.token.status)]));
      const laneOfMint = (mint: string) => ownLane.get(mint) ?? job.lane;
      notNow = notNowOutcome(job.lane, outcome.failed.values());
      for (const [mint, err] of outcome.failed) {
        if (err instanceof UpstreamPairsRejectedError) {
          // Only this mint's pairs are bad: it goes back on its own, away from its call's others.
          const sinceMs = now() - (lastFetch.get(mint) ?? now());
          const wait = rejectedRetryDelayMs(sinceMs, 10 * ttlMs(config, laneOfMint(mint)), random);
          await store.reschedule([mint], now() + wait);
        } else if (delayOf(err) === null) (err.retryable ? retrySoon : retryLater).push(mint);
        else deferred++;
      }
      await store.reschedule(retrySoon, now() + RETRY_DELAY_MS);
      for (const lane of LANES) {
        const later = retryLater.filter((m) => laneOfMint(m) === lane);
        await store.reschedule(later, now() + ttlMs(config, lane) - config.dueMarginMs);
      }
    }

    return {
      scored: updates.length,
      skipped: job.mints.length - live.length,
      failed: outcome.failed.size - deferred,
      deferred,
      durationMs: Math.round(performance.now() - started),
      notNow,
      delayMs: notNow?.delayMs ?? null,
    };
  };
}
