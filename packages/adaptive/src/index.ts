export type {
  Thresholds,
  UpstreamSignals,
  QueueSignals,
  ConcurrencyBounds,
  ConcurrencyReason,
  ConcurrencyState,
  ConcurrencyDecision,
  BatchSizerInput,
  BatchSizerBounds,
  BatchSizerState,
  BatchSizeReason,
  BatchSizeDecision,
} from "./types.js";
export { nextLoadLevel, EVENT_LOOP_HIGH_MS, EVENT_LOOP_MEDIUM_MS, EVENT_LOOP_LOW_MS } from "./load-level.js";
export {
  nextConcurrency,
  initialConcurrency,
  concurrencyCap,
  connectionQueueDepth,
  CONNECTION_QUEUE_HOLD,
  CONNECTION_QUEUE_TRIM,
  GROWTH_COOLDOWN_TICKS,
  MIN_DUTY,
  MAX_DUTY_WAIT_MS,
  dutyWaitMs,
  type ConcurrencyInput,
} from "./concurrency.js";
export {
  LatencyEstimator,
  latencyBucket,
  nextBaseline,
  nextTimeout,
  hedgeDelayMs,
  HEDGE_MIN_MS,
  TIMEOUT_BURST,
  TIMEOUT_DECLINE,
  TIMEOUT_MIN_MS,
  TIMEOUT_MAX_MS,
  type LatencyBuckets,
  type TimeoutDecision,
  type TimeoutInput,
  type TimeoutReason,
} from "./timeout-estimator.js";
export { nextBatchSize, initialBatchSizerState, TARGET_JOB_MS } from "./batch-sizer.js";
export { createSampler, SamplerClosedError, type Sampler, type SamplerOptions } from "./sampler.js";
export { detectMachine, type Machine } from "./machine.js";
export {
  nextContention,
  initialContention,
  OTHERS_MIN_PERCENT,
  OTHERS_RELEASE_PERCENT,
  OTHERS_RISE_PERCENT,
  BASELINE_TICKS,
  nextOthersBaseline,
  FLEET_MIN_PERCENT,
  PROBE_TICKS,
  START_QUIET_TICKS,
  type ContentionDecision,
  type ContentionState,
  type ContentionVerdict,
  type HostCpu,
} from "./contention.js";
