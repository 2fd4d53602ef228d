export {
  createUpstreamClient,
  parsePairsBody,
  MAX_MINTS_PER_CALL,
  MAX_RESPONSE_BYTES,
  type UpstreamClient,
  type UpstreamClientOptions,
  type CallOptions,
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
  delayOf,
} from "./errors.js";
export {
  RateBudget,
  type BudgetSettings,
  type BudgetUse,
  type FleetBudgetConfig,
  type Take,
} from "./rate-budget.js";
export { CircuitBreaker, type BreakerSettings, type Permit } from "./circuit-breaker.js";
export { backoffMs } from "./backoff.js";
export { Coalescer, type MintResult } from "./coalescer.js";
export {
  createPairsGateway,
  type PairsGateway,
  type GatewayDeps,
  type GatewaySettings,
  type Fetched,
  type CallOutcome,
} from "./pairs-gateway.js";
