import type { TokenMetrics } from "./metrics.js";

export interface Components {
  txAccel: number;
  volMomentum: number;
  freshness: number;
  orderflow: number;
}

/** The components plus their weighted sum: what is stored, smoothed and ranked. */
export type Scores = Components & { score: number };

export type Weights = Components;

export const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze({
  txAccel: 0.25,
  volMomentum: 0.25,
  freshness: 0.25,
  orderflow: 0.25,
});

/** `min_score`: below it a score does not count as "good" for the archive rule. */
export const MIN_SCORE = 0.1;

export const TX_ACCEL_CAP = 10;
export const VOL_MOMENTUM_CAP = 15;
export const FRESHNESS_HORIZON_HOURS = 6;
/** Buy + sell volume (USD) at which order flow counts in full. */
export const ORDERFLOW_FULL_VOLUME_USD = 500;
/** A pair's average trade above this multiple of the mean means a few large trades dominate. */
export const LARGE_TRADE_RATIO = 3;
/** Liquidity (USD) above which volume momentum is boosted proportionally. */
export const LIQUIDITY_BOOST_USD = 100_000;

export type ComponentInputs = Pick<
  TokenMetrics,
  | "tx5m"
  | "tx1h"
  | "volume5m"
  | "volume1h"
  | "liquidityUsd"
  | "hoursSinceCreation"
  | "buyVolume5m"
  | "sellVolume5m"
  | "largestAvgTrade5m"
  | "meanAvgTrade5m"
>;

function clamp(x: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, x));
}

/** Any NaN or infinity that slipped through becomes 0, so a score is always a plain number. */
function finite(x: number): number {
  return Number.isFinite(x) ? x : 0;
}

export function txAccel(m: Pick<ComponentInputs, "tx5m" | "tx1h">): number {
  if (!(m.tx1h > 0)) return 0;
  return finite(clamp(m.tx5m / 5 / (m.tx1h / 60), 0, TX_ACCEL_CAP));
}

export function volMomentum(m: Pick<ComponentInputs, "volume5m" | "volume1h" | "liquidityUsd">): number {
  if (!(m.volume1h > 0)) return 0;
  const boost = Math.max(1, finite(m.liquidityUsd / LIQUIDITY_BOOST_USD));
  return finite(clamp((m.volume5m / (m.volume1h / 12)) * boost, 0, VOL_MOMENTUM_CAP));
}

export function freshness(m: Pick<ComponentInputs, "hoursSinceCreation">): number {
  return finite(clamp((FRESHNESS_HORIZON_HOURS - m.hoursSinceCreation) / FRESHNESS_HORIZON_HOURS, 0, 1));
}

export function orderflow(
  m: Pick<ComponentInputs, "buyVolume5m" | "sellVolume5m" | "largestAvgTrade5m" | "meanAvgTrade5m">,
): number {
  const total = m.buyVolume5m + m.sellVolume5m;
  if (!(total > 0)) return 0;
  let flow = ((m.buyVolume5m - m.sellVolume5m) / total) * Math.min(1, total / ORDERFLOW_FULL_VOLUME_USD);
  if (m.meanAvgTrade5m > 0 && m.largestAvgTrade5m > LARGE_TRADE_RATIO * m.meanAvgTrade5m) flow /= 2;
  return finite(clamp(flow, -1, 1));
}

export function computeComponents(metrics: ComponentInputs): Components {
  return {
    txAccel: txAccel(metrics),
    volMomentum: volMomentum(metrics),
    freshness: freshness(metrics),
    orderflow: orderflow(metrics),
  };
}

export function weightedScore(components: Components, weights: Weights = DEFAULT_WEIGHTS): number {
  return finite(
    weights.txAccel * components.txAccel +
      weights.volMomentum * components.volMomentum +
      weights.freshness * components.freshness +
      weights.orderflow * components.orderflow,
  );
}

/** The bands bot operators use, best first; "none" is below the lowest floor. */
export const SCORE_BANDS = ["bot-ready", "watch", "low", "none"] as const;
export type ScoreBand = (typeof SCORE_BANDS)[number];

/** The smoothed score a token needs for each band (inclusive). */
export const BAND_FLOORS: Readonly<Record<Exclude<ScoreBand, "none">, number>> = Object.freeze({
  "bot-ready": 0.9,
  watch: 0.7,
  low: 0.5,
});

export function scoreBand(score: number): ScoreBand {
  if (score >= BAND_FLOORS["bot-ready"]) return "bot-ready";
  if (score >= BAND_FLOORS.watch) return "watch";
  if (score >= BAND_FLOORS.low) return "low";
  return "none";
}

/** The smoothed-score interval [min, max) of a band; null ends are open. */
export function bandRange(band: ScoreBand): { min: number | null; max: number | null } {
  const i = SCORE_BANDS.indexOf(band);
  const floorOf = (b: ScoreBand | undefined) => (b && b !== "none" ? BAND_FLOORS[b] : null);
  return { min: floorOf(band), max: i > 0 ? floorOf(SCORE_BANDS[i - 1]) : null };
}
