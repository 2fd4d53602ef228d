import { LEGACY, baseTimeoutMs, ttlMs, type Config } from "@moonfleet/config";
import type { BatchJob, BatchResult } from "@moonfleet/queues";
import { evaluateToken, type Pair } from "@moonfleet/scoring";
import type { Snapshot, TokenStore, TokenUpdate, TokenRecord } from "@moonfleet/store";
import type { UpstreamClient, UpstreamError } from "@moonfleet/upstream";
import { fetchPairs, type FetchPlan } from "./fetch-pairs.js";
import type { CallOutcome } from "./lane-controller.js";

export interface ProcessorDeps {
  /** The effective config, read per job so runtime changes apply to the next batch. */
  readonly config: () => Config;
  readonly store: TokenStore;
  readonly upstream: UpstreamClient;
  readonly now?: () => number;
  /** Called once per failed upstream call group, for logs and counters. */
  readonly onFailure?: (lane: string, mints: number, err: UpstreamError) => void;
  /** Called after every upstream call with its latency and outcome. */
  readonly onCall?: (lane: "hot" | "cold", ms: number, outcome: CallOutcome) => void;
  /** The lane's current timeout (the controller's); the configured base when absent. */
  readonly timeoutFor?: (lane: "hot" | "cold") => number;
}

/** Retry a token whose call failed this soon, instead of waiting out its lease. */
export const RETRY_DELAY_MS = 1_000;

/** How a batch is fetched: the optimized path or the legacy one (one token per call, one at a time). */
export function fetchPlan(config: Config, lane: "hot" | "cold", timeoutMs?: number): FetchPlan {
  if (!config.enableSchedulerOptimization) return { perCall: 1, parallel: 1, timeoutMs: LEGACY.timeoutMs };
  return {
    perCall: 30,
    parallel: config.enableParallelProcessing ? 8 : 1,
    timeoutMs: timeoutMs ?? baseTimeoutMs(config, lane),
  };
}

export function toSnapshot(
  token: TokenRecord,
  pairs: readonly Pair[],
  previous: Snapshot | null,
  fetchedAt: number,
  config: Config,
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
  };
  const dueAt = e.lane ? fetchedAt + ttlMs(config, e.lane) - config.dueMarginMs : fetchedAt;
  return { snapshot, dueAt, lastGoodScoreAt: e.lastGoodScoreAt, activeSince: e.activeSince };
}

/** Scores one batch job: load, fetch, evaluate, commit; failed tokens are due again soon. */
export function createBatchProcessor(deps: ProcessorDeps) {
  const now = deps.now ?? Date.now;
  const { store, upstream } = deps;

  return async function processBatch(job: BatchJob, signal?: AbortSignal): Promise<BatchResult> {
    const started = performance.now();
    const config = deps.config();
    const loaded = await store.load(job.mints);
    const live = loaded.filter((x) => x !== null && x.token.status !== "archived") as Array<{
      token: TokenRecord;
      snapshot: Snapshot | null;
    }>;
    const outcome = await fetchPairs(
      upstream,
      live.map((x) => x.token.mint),
      fetchPlan(config, job.lane, deps.timeoutFor?.(job.lane)),
      now,
      signal,
      deps.onCall ? (ms, outcome) => deps.onCall?.(job.lane, ms, outcome) : undefined,
    );

    const updates: TokenUpdate[] = [];
    for (const { token, snapshot } of live) {
      const got = outcome.fetched.get(token.mint);
      if (got) updates.push(toSnapshot(token, got.pairs, snapshot, got.fetchedAt, config));
    }
    await store.commit(updates);

    if (outcome.failed.size > 0) {
      const seen = new Set<UpstreamError>();
      for (const err of outcome.failed.values()) {
        if (seen.has(err)) continue;
        seen.add(err);
        deps.onFailure?.(job.lane, [...outcome.failed.values()].filter((e) => e === err).length, err);
      }
      // A malformed answer keeps the last good snapshot and waits a normal TTL; other failures retry soon.
      const retrySoon: string[] = [];
      const retryLater: string[] = [];
      for (const [mint, err] of outcome.failed) (err.retryable ? retrySoon : retryLater).push(mint);
      await store.reschedule(job.lane, retrySoon, now() + RETRY_DELAY_MS);
      await store.reschedule(job.lane, retryLater, now() + ttlMs(config, job.lane) - config.dueMarginMs);
    }

    return {
      scored: updates.length,
      skipped: job.mints.length - live.length,
      failed: outcome.failed.size,
      calls: outcome.calls,
      durationMs: Math.round(performance.now() - started),
    };
  };
}
