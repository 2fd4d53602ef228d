import { BAND_FLOORS, DEFAULT_WEIGHTS, scoreBand } from "./score.js";
import type { Components, ScoreBand, Weights } from "./score.js";

export const COMPONENT_NAMES = ["txAccel", "volMomentum", "freshness", "orderflow"] as const;

export interface ComponentPart {
  readonly name: (typeof COMPONENT_NAMES)[number];
  readonly weight: number;
  readonly raw: number;
  readonly smoothed: number;
  /** weight * raw and weight * smoothed: what the component adds to each score. */
  readonly rawContribution: number;
  readonly smoothedContribution: number;
}

export interface ScoreBreakdown {
  readonly parts: readonly ComponentPart[];
  /** The sums of the contributions: the raw score and (the EWMA being linear) the smoothed one. */
  readonly rawScore: number;
  readonly smoothedScore: number;
  readonly band: ScoreBand;
  readonly bandFloors: typeof BAND_FLOORS;
}

/**
 * Why a token scores what it scores: each component with its weight and what it contributes to
 * the raw and the smoothed score. The same weights as weightedScore, so the parts sum to the score.
 */
export function scoreBreakdown(
  raw: Components,
  smoothed: Components,
  weights: Weights = DEFAULT_WEIGHTS,
): ScoreBreakdown {
  const parts = COMPONENT_NAMES.map((name) => ({
    name,
    weight: weights[name],
    raw: raw[name],
    smoothed: smoothed[name],
    rawContribution: weights[name] * raw[name],
    smoothedContribution: weights[name] * smoothed[name],
  }));
  const smoothedScore = parts.reduce((a, p) => a + p.smoothedContribution, 0);
  return {
    parts,
    rawScore: parts.reduce((a, p) => a + p.rawContribution, 0),
    smoothedScore,
    band: scoreBand(smoothedScore),
    bandFloors: BAND_FLOORS,
  };
}
