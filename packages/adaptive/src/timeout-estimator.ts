// Upstream latency per lane, and the timeout that follows from it.
//
// LatencyEstimator is a streaming histogram: log-spaced buckets (each 5% wider than the last, 1 ms
// to 120 s) give any percentile within 5% in fixed memory, whatever the spread of latencies. Counts
// decay once per tick, so the estimate follows the upstream as it is now and old samples fade
// instead of being dropped at a window edge. A call that timed out is recorded at its timeout: the
// true latency is at least that (a censored sample), and leaving timeouts out would make a surge
// that causes timeouts look fast and shrink the timeout just when it should grow.
import type { LoadLevel } from "@moonfleet/domain";

export const TIMEOUT_MIN_MS = 1500;
export const TIMEOUT_MAX_MS = 5000;
/** The timeout sits this far above the estimated p99, so a normal tail is not cut off. */
export const TIMEOUT_P99_MARGIN = 1.5;

export const BUCKET_GROWTH = 1.05;
export const BUCKET_MIN_MS = 1;
export const BUCKET_MAX_MS = 120_000;
/** Decay applied once per controller tick: a sample's weight halves in about 6.6 ticks. */
export const DEFAULT_DECAY = 0.9;
/** Below this (decayed) count a percentile is noise, and `percentile` answers null. */
export const DEFAULT_MIN_SAMPLES = 20;
/** A hedged call goes out no sooner than this after the call it backs up, ms. */
export const HEDGE_MIN_MS = 250;

/**
 * When to send a second call beside one that must answer soon (it carries an exported token) and
 * has not: at the lane's p99 latency, so about one such call in a hundred is hedged, within
 * [HEDGE_MIN_MS, half the timeout]; half the timeout while the p99 is unknown. Half the timeout
 * keeps a hedge ahead of the timeout and the retry it would otherwise wait for.
 */
export function hedgeDelayMs(p99Ms: number | null, timeoutMs: number): number {
  const ceiling = Math.max(HEDGE_MIN_MS, timeoutMs / 2);
  if (p99Ms === null || !Number.isFinite(p99Ms)) return Math.round(ceiling);
  return Math.round(Math.min(ceiling, Math.max(HEDGE_MIN_MS, p99Ms)));
}

/** Weight of the newest p50 in the slow baseline: about 20 ticks of memory. */
export const BASELINE_ALPHA = 0.05;

const LOG_GROWTH = Math.log(BUCKET_GROWTH);
const BUCKETS = Math.ceil(Math.log(BUCKET_MAX_MS / BUCKET_MIN_MS) / LOG_GROWTH);

/** The histogram bucket a latency (ms) falls in; values outside 1 ms..120 s land in the end buckets. */
export function latencyBucket(ms: number): number {
  const clamped = Math.min(BUCKET_MAX_MS, Math.max(BUCKET_MIN_MS, ms));
  return Math.min(BUCKETS - 1, Math.floor(Math.log(clamped / BUCKET_MIN_MS) / LOG_GROWTH));
}

/** Sparse histogram counts: bucket index -> (decayed) count, as the fleet's shared histogram holds them. */
export type LatencyBuckets = ReadonlyMap<number, number>;

export interface LatencyEstimatorOptions {
  readonly minSamples?: number;
}

export class LatencyEstimator {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private readonly minSamples: number;

  constructor(options: LatencyEstimatorOptions = {}) {
    this.minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;
  }

  /** One finished call's latency (ms). Values outside 1 ms..120 s land in the end buckets. */
  record(ms: number): void {
    if (Number.isNaN(ms)) return;
    const index = latencyBucket(ms);
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.total += 1;
  }

  /** An estimator over sparse counts (e.g. the fleet's shared histogram). */
  static fromBuckets(buckets: LatencyBuckets, options: LatencyEstimatorOptions = {}): LatencyEstimator {
    const e = new LatencyEstimator(options);
    for (const [index, count] of buckets) {
      if (!Number.isInteger(index) || index < 0 || index >= BUCKETS || !(count > 0)) continue;
      e.counts[index] = (e.counts[index] ?? 0) + count;
      e.total += count;
    }
    return e;
  }

  /** A call that timed out after `timeoutMs`: its latency was at least that. */
  recordTimeout(timeoutMs: number): void {
    this.record(timeoutMs);
  }

  /** Multiply every count by `factor` (0..1); call once per tick. */
  decay(factor: number = DEFAULT_DECAY): void {
    const f = Math.min(1, Math.max(0, factor));
    this.total = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const next = (this.counts[i] ?? 0) * f;
      // Drop dust, so a long-idle lane really has no data rather than a tiny stale histogram.
      this.counts[i] = next < 1e-6 ? 0 : next;
      this.total += this.counts[i] ?? 0;
    }
  }

  /** The decayed number of samples. */
  count(): number {
    return this.total;
  }

  /** Latency (ms) below which a share `q` (0..1) of the samples fall, or null with too few samples. */
  percentile(q: number): number | null {
    if (this.total < this.minSamples || this.total <= 0) return null;
    const rank = Math.min(1, Math.max(0, q)) * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      const c = this.counts[i] ?? 0;
      if (c > 0 && seen + c >= rank) {
        // Interpolate inside the bucket on the log scale, where the buckets are even.
        const within = (rank - seen) / c;
        return BUCKET_MIN_MS * Math.exp((i + within) * LOG_GROWTH);
      }
      seen += c;
    }
    return BUCKET_MAX_MS;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/**
 * A slow EWMA of latency p50, the "normal" the concurrency controller compares the current p50
 * with. Without a new p50 the baseline stays where it was.
 */
export function nextBaseline(
  previous: number | null,
  p50: number | null,
  alpha: number = BASELINE_ALPHA,
): number | null {
  if (p50 === null || !Number.isFinite(p50)) return previous;
  if (previous === null) return p50;
  return previous + alpha * (p50 - previous);
}

export type TimeoutReason = "no_data" | "estimate" | "under_load" | "fixed" | "timeout_burst";

/**
 * Timeouts within one controller tick from which the timeout doubles at once (a latency surge).
 * One: at a budgeted lane's few calls per tick two timeouts rarely fall in one tick, and a surge
 * measured this way cost 9 timeouts where fixed 5 s timeouts had none. A lone hang costs a few
 * ticks of a longer timeout on a slot that waits for it anyway.
 */
export const TIMEOUT_BURST = 1;
/**
 * The estimate lowers the timeout by at most this factor per tick: right after a burst the
 * histogram still holds the fast calls from before the surge, and dropping back at once would
 * time out the next slow calls and burst again.
 */
export const TIMEOUT_DECLINE = 0.8;
/** Decayed recent timeouts at or above which the timeout holds instead of falling. */
export const RECENT_TIMEOUTS_HOLD = 0.5;

export interface TimeoutInput {
  readonly estimateP99Ms: number | null;
  /** Under high load the timeout does not go below this (the upstream's current p95). */
  readonly estimateP95Ms?: number | null;
  /** TIMEOUT_HOT / TIMEOUT_COLD in ms. */
  readonly baseMs: number;
  /** TIMEOUT_UNDER_LOAD in ms. */
  readonly underLoadMs: number;
  readonly level: LoadLevel;
  /** ENABLE_DYNAMIC_TIMEOUTS. */
  readonly dynamic: boolean;
  /** The timeout in force, and how many calls timed out under it since the last tick. */
  readonly currentMs?: number;
  readonly timeoutsThisTick?: number;
  /** Timeouts of the lane's recent calls (decayed): while there are any, the timeout does not fall. */
  readonly recentTimeouts?: number;
}

export interface TimeoutDecision {
  readonly timeoutMs: number;
  readonly reason: TimeoutReason;
}

/**
 * The timeout for a lane's next calls. Off: the configured base. Under high load: the short
 * under-load timeout, so a struggling process drops slow calls rather than piling them up, but
 * never below the p95 the upstream answers at: cutting the calls that would succeed only opens
 * the breaker (measured: a latency surge under CPU load shut the fleet off for a minute). No data
 * yet: the base. Otherwise 1.5 x the estimated p99, within 1.5 to 5 s, falling by at most 20 % a
 * tick and not at all while the lane's recent calls hold a timeout. A timeout within the tick doubles the timeout at once, before the histogram has caught up.
 */
export function nextTimeout(input: TimeoutInput): TimeoutDecision {
  if (!input.dynamic) return { timeoutMs: input.baseMs, reason: "fixed" };
  // The first timeouts of a surge are its signal: the histogram needs many ticks to follow, while
  // every call cut short is a wasted request. Double at once (the estimate wins when it is higher).
  if ((input.timeoutsThisTick ?? 0) >= TIMEOUT_BURST && input.currentMs !== undefined) {
    const fromEstimate = (input.estimateP99Ms ?? 0) * TIMEOUT_P99_MARGIN;
    const timeoutMs = Math.min(TIMEOUT_MAX_MS, Math.max(input.currentMs * 2, fromEstimate));
    if (timeoutMs > input.currentMs) return { timeoutMs: Math.round(timeoutMs), reason: "timeout_burst" };
  }
  if (input.level === "high") {
    const floor = input.estimateP95Ms ?? 0;
    const timeoutMs = Math.min(
      TIMEOUT_MAX_MS,
      Math.max(input.underLoadMs, Number.isFinite(floor) ? floor : 0),
    );
    return { timeoutMs: Math.round(timeoutMs), reason: "under_load" };
  }
  if (input.estimateP99Ms === null || !Number.isFinite(input.estimateP99Ms)) {
    return { timeoutMs: input.baseMs, reason: "no_data" };
  }
  const estimate = Math.min(
    TIMEOUT_MAX_MS,
    Math.max(TIMEOUT_MIN_MS, input.estimateP99Ms * TIMEOUT_P99_MARGIN),
  );
  const holding = (input.recentTimeouts ?? 0) >= RECENT_TIMEOUTS_HOLD;
  const slowest = input.currentMs !== undefined ? input.currentMs * (holding ? 1 : TIMEOUT_DECLINE) : 0;
  return { timeoutMs: Math.round(Math.max(estimate, Math.min(slowest, TIMEOUT_MAX_MS))), reason: "estimate" };
}
