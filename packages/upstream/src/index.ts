export {
  createUpstreamClient,
  parsePairsBody,
  parsePairsAnswer,
  MAX_RESPONSE_BYTES,
  type UpstreamClient,
  type UpstreamClientOptions,
  type CallOptions,
  type PairsAnswer,
  type RejectedPair,
} from "./client.js";
export {
  UpstreamError,
  UpstreamTimeoutError,
  UpstreamRateLimitedError,
  UpstreamHttpError,
  UpstreamConnectionError,
  UpstreamSchemaError,
  UpstreamCircuitOpenError,
  UpstreamBudgetExhaustedError,
  UpstreamPairsRejectedError,
  UpstreamEmptyAnswerError,
  UpstreamFallbackDeferredError,
  delayOf,
} from "./errors.js";
export {
  RateBudget,
  DEFAULT_MAX_PAUSE_MS,
  takesAs,
  asksFirst,
  EXPORTED_HEAD_START_MS,
  FIRST_GRACE_MS,
  permitWaitMs,
  type BudgetSettings,
  type Penalty,
  type BudgetUse,
  type FleetBudgetConfig,
  type Take,
} from "./rate-budget.js";
export { CircuitBreaker, type BreakerSettings, type Permit } from "./circuit-breaker.js";
export { backoffMs } from "./backoff.js";
export { Coalescer, type MintResult } from "./coalescer.js";
export {
  createPairsGateway,
  isEmptyAnswerFault,
  EMPTY_ANSWER_FAULT_MINTS,
  type PairsGateway,
  type GatewayDeps,
  type GatewaySettings,
  type Fetched,
  type CallOutcome,
  type HedgeEvent,
} from "./pairs-gateway.js";
