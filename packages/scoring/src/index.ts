export { pairSchema, pairsSchema, latestPairsSchema, NUMERIC_STRING } from "./pair.js";
export { readPair } from "./read-pair.js";
export type { Pair, PairInput } from "./pair.js";
export { mintSchema, storedMintSchema, isMint, decodeBase58, MINT_BYTES } from "./mint.js";
export type { Mint } from "./mint.js";
export { poolType } from "./pool-type.js";
export type { PoolType } from "./pool-type.js";
export {
  BONDING_CURVE_DEXES,
  PUMP_FUN_DEXES,
  SOL_QUOTE_SYMBOLS,
  SCORING_QUOTE_SYMBOLS,
  ACTIVE_LIQUIDITY_FLOOR_USD,
  MONITORING_LIQUIDITY_FLOOR_USD,
  relevantLiquidityFloor,
  relevantPairs,
  quoteSymbol,
} from "./pairs.js";
export {
  ACTIVATION_LIQUIDITY_THRESHOLD_USD,
  checkActivation,
  isActivated,
  isExternalPool,
  isPumpFunPool,
} from "./activation.js";
export type { ActivationCheck, ActivationReason } from "./activation.js";
export { computeMetrics, STORED_POOLS_PER_TOKEN } from "./metrics.js";
export type { MetricsInput, TokenMetrics, TokenPool } from "./metrics.js";
export {
  DEFAULT_WEIGHTS,
  MIN_SCORE,
  TX_ACCEL_CAP,
  VOL_MOMENTUM_CAP,
  computeComponents,
  weightedScore,
  scoreBand,
  bandRange,
  SCORE_BANDS,
  BAND_FLOORS,
} from "./score.js";
export { scoreBreakdown, COMPONENT_NAMES } from "./breakdown.js";
export type { ScoreBreakdown, ComponentPart } from "./breakdown.js";
export type { ComponentInputs, Components, ScoreBand, Scores, Weights } from "./score.js";
export { DEFAULT_ALPHA, InvalidAlphaError, smooth } from "./smoothing.js";
export { ARCHIVE_WINDOW_MS, shouldArchive, nextStatus } from "./lifecycle.js";
export type { ArchiveInput, NextStatusInput } from "./lifecycle.js";
export { evaluateToken } from "./evaluate.js";
export type { TokenEvaluation, TokenEvaluationInput } from "./evaluate.js";
