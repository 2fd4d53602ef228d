// The controller's vocabulary: plain values in, decisions out. Pure cores take these and a clock;
// the worker and producer sample the world into them and apply what comes back.
import type { LoadLevel } from "@moonfleet/domain";

export interface Thresholds {
  readonly highCpu: number;
  readonly mediumCpu: number;
  readonly lowCpu: number;
  readonly highMemory: number;
  readonly mediumMemory: number;
  readonly lowMemory: number;
}

/** What the upstream did for one lane since the last tick. */
export interface UpstreamSignals {
  /** Calls finished (any outcome). */
  readonly calls: number;
  readonly timeouts: number;
  /** 5xx, connection errors, malformed answers. */
  readonly errors: number;
  /** 429 answers. */
  readonly rateLimited: number;
  /** Recent latency percentiles (ms), null without data. */
  readonly latencyP50Ms: number | null;
  readonly latencyP95Ms: number | null;
  /** A slow-moving baseline of latency p50 (ms), null without data. */
  readonly baselineLatencyMs: number | null;
  /**
   * Calls that waited for (or gave up on) the fleet's request budget. While the budget is the
   * limit, more concurrency only adds waiting jobs, so the controller does not grow.
   */
  readonly budgetWaits?: number;
  /**
   * The process's connection pool as its calls found it since the last tick: calls already waiting
   * for a connection per connection, on average (connectionQueueDepth); null without calls. Both
   * lanes share the pool, so both read the same figure.
   */
  readonly connectionQueue?: number | null;
}

export interface QueueSignals {
  /** Jobs waiting in this lane's queue (fleet-wide). */
  readonly waiting: number;
  /** Jobs this process is running for the lane right now. */
  readonly active: number;
}

export interface ConcurrencyBounds {
  /** MAX_CONCURRENT_HOT / MAX_CONCURRENT_COLD. */
  readonly max: number;
  /** MAX_CONCURRENT_UNDER_LOAD. */
  readonly underLoad: number;
}

export type ConcurrencyReason =
  | "start"
  | "grow_backlog"
  | "hold_idle"
  | "hold_reduced_load"
  | "hold_cooldown"
  | "hold_budget"
  | "hold_connections"
  | "trim_connections"
  | "hold_latency_rising"
  | "cut_high_load"
  | "cut_cotenant"
  | "undo_cut"
  | "cut_rate_limited"
  | "cut_upstream_errors"
  | "cut_latency_rising"
  | "hold_max"
  | "clamp_bounds"
  | "parallel_disabled"
  | "fixed_max";

export interface ConcurrencyState {
  readonly limit: number;
  /** Ticks since the last cut (growth waits a few ticks after a cut, so it does not oscillate). */
  readonly ticksSinceCut: number;
  /** Ticks since the last trim_connections (trims come a few ticks apart); absent: as ticksSinceCut. */
  readonly ticksSinceTrim?: number;
  /**
   * The share of the time the lane's one slot may work (absent: 1): below one slot, a lane yielding
   * to a co-tenant goes on halving its duty (concurrency.ts, dutyWaitMs).
   */
  readonly duty?: number;
}

export interface ConcurrencyDecision {
  readonly state: ConcurrencyState;
  readonly limit: number;
  /** The share of the time the slot may work: 1 unless the lane holds one slot and yields below it. */
  readonly duty: number;
  readonly changed: boolean;
  readonly reason: ConcurrencyReason;
}

/** What the producer knows about one lane when it sizes the next batches. */
export interface BatchSizerInput {
  /** Tokens due and waiting to be claimed in this lane. */
  readonly dueNow: number;
  /** Jobs already waiting in the lane's queue (fleet-wide). */
  readonly waitingJobs: number;
  readonly fleet: {
    readonly workers: number;
    /** Total concurrency of the lane across live workers. */
    readonly slots: number;
    /** The worst load level among the workers. */
    readonly level: LoadLevel;
  };
  /** Mean duration of recently finished jobs (ms), null without data. */
  readonly avgJobMs: number | null;
  /** Mean tokens per recently finished job; when absent the current size is assumed. */
  readonly avgJobTokens?: number | null;
}

export interface BatchSizerBounds {
  /** MIN_BATCH_SIZE / MAX_BATCH_SIZE. */
  readonly min: number;
  readonly max: number;
  /** ENABLE_ADAPTIVE_BATCHING. */
  readonly adaptive: boolean;
  /** The legacy fixed size for the lane (35 hot, 70 cold), used when not adaptive. */
  readonly fixed: number;
}

/** Plain JSON: the producer keeps it in Redis so a restart does not forget what it learned. */
export interface BatchSizerState {
  readonly size: number;
  /** EWMA of job duration per token (ms), null until a job has finished. */
  readonly msPerToken: number | null;
  readonly ticksSinceChange: number;
}

export type BatchSizeReason =
  | "start"
  | "fixed"
  | "hold"
  | "hold_settling"
  | "grow_backlog"
  | "shrink_slow_jobs"
  | "shrink_high_load"
  | "spread_small_backlog"
  | "clamp_bounds";

export interface BatchSizeDecision {
  readonly state: BatchSizerState;
  readonly size: number;
  readonly changed: boolean;
  readonly reason: BatchSizeReason;
}
