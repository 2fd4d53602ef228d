import { checkActivation } from "./activation.js";
import type { ActivationCheck } from "./activation.js";
import { laneOf, type Lane, type TokenStatus } from "@moonfleet/domain";
import { nextStatus } from "./lifecycle.js";
import { computeMetrics } from "./metrics.js";
import type { TokenMetrics } from "./metrics.js";
import type { Pair } from "./pair.js";
import { pairsOf, relevantLiquidityFloor } from "./pairs.js";
import { DEFAULT_WEIGHTS, MIN_SCORE, computeComponents, scoreBand, weightedScore } from "./score.js";
import type { ScoreBand, Scores, Weights } from "./score.js";
import { DEFAULT_ALPHA, smooth } from "./smoothing.js";

export interface TokenEvaluationInput {
  mint: string;
  status: TokenStatus;
  createdAt: number;
  lastGoodScoreAt: number | null;
  activeSince: number | null;
  pairs: readonly Pair[];
  /** The token's previous smoothed scores, null on its first evaluation. */
  previous: Scores | null;
  now: number;
  weights?: Weights;
  alpha?: number;
  liquidityThresholdUsd?: number;
  /** The archive windows (MONITORING_TIMEOUT_HOURS, ARCHIVE_BELOW_HOURS); 12 h each by default. */
  monitoringWindowMs?: number;
  activeWindowMs?: number;
}

export interface TokenEvaluation {
  metrics: TokenMetrics;
  raw: Scores;
  smoothed: Scores;
  band: ScoreBand;
  activated: boolean;
  activation: ActivationCheck;
  status: TokenStatus;
  lane: Lane | null;
  name: string | null;
  symbol: string | null;
  lastGoodScoreAt: number | null;
  activeSince: number | null;
}

function firstNonEmpty(values: readonly (string | undefined)[]): string | null {
  for (const v of values) if (v !== undefined && v.trim() !== "") return v;
  return null;
}

/** One refresh of one token: metrics, raw and smoothed scores, and its next status. Pure. */
export function evaluateToken(input: TokenEvaluationInput): TokenEvaluation {
  const { mint, status, createdAt, pairs, now } = input;
  const activation = checkActivation(mint, pairs, input.liquidityThresholdUsd);

  // The relevant-liquidity floor follows the status the token has once activation is decided.
  const statusForFloor: TokenStatus =
    status === "archived" ? "archived" : activation.activated ? "active" : "monitoring";
  const metrics = computeMetrics({
    mint,
    pairs,
    createdAt,
    now,
    minLiquidityUsd: relevantLiquidityFloor(statusForFloor),
  });

  const components = computeComponents(metrics);
  const raw: Scores = { ...components, score: weightedScore(components, input.weights ?? DEFAULT_WEIGHTS) };
  const smoothed = smooth(raw, input.previous, input.alpha ?? DEFAULT_ALPHA);
  const lastGoodScoreAt = smoothed.score >= MIN_SCORE ? now : input.lastGoodScoreAt;

  const next = nextStatus({
    status,
    activated: activation.activated,
    createdAt,
    lastGoodScoreAt,
    activeSince: input.activeSince,
    now,
    ...(input.monitoringWindowMs !== undefined ? { monitoringWindowMs: input.monitoringWindowMs } : {}),
    ...(input.activeWindowMs !== undefined ? { activeWindowMs: input.activeWindowMs } : {}),
  });
  const activeSince = next !== "active" ? null : status === "active" ? (input.activeSince ?? now) : now;

  const own = pairsOf(mint, pairs);
  return {
    metrics,
    raw,
    smoothed,
    band: scoreBand(smoothed.score),
    activated: activation.activated,
    activation,
    status: next,
    lane: laneOf(next),
    name: firstNonEmpty(own.map((p) => p.baseToken.name)),
    symbol: firstNonEmpty(own.map((p) => p.baseToken.symbol)),
    lastGoodScoreAt,
    activeSince,
  };
}
