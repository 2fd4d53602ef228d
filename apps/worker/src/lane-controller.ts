import type { LaneState, LoadLevel } from "@moonfleet/domain";
import {
  LatencyEstimator,
  latencyBucket,
  concurrencyCap,
  dutyWaitMs,
  initialConcurrency,
  nextBaseline,
  nextConcurrency,
  nextTimeout,
  hedgeDelayMs,
  TIMEOUT_MAX_MS,
  type ConcurrencyBounds,
  type ConcurrencyDecision,
  type ConcurrencyState,
  type LatencyBuckets,
  type UpstreamSignals,
  type ContentionVerdict,
  type TimeoutInput,
} from "@moonfleet/adaptive";
import { startTimeoutMs, type ConcurrencyPolicy, type LanePolicy } from "@moonfleet/config";

import type { CallOutcome } from "@moonfleet/upstream";

export type { CallOutcome };

/** The concurrency policy in the adaptive core's terms: its two switches and its bounds. */
function concurrencyTerms(p: ConcurrencyPolicy): {
  parallel: boolean;
  adaptive: boolean;
  bounds: ConcurrencyBounds;
} {
  switch (p.kind) {
    case "single":
      return { parallel: false, adaptive: false, bounds: { max: 1, underLoad: 1 } };
    case "fixed":
      return { parallel: true, adaptive: false, bounds: { max: p.max, underLoad: p.max } };
    case "adaptive":
      return { parallel: true, adaptive: true, bounds: { max: p.max, underLoad: p.underLoad } };
  }
}

/** Where a lane's concurrency starts under its policy. */
function startConcurrency(p: ConcurrencyPolicy): Pick<ConcurrencyDecision, "state" | "reason"> {
  switch (p.kind) {
    case "single":
      return { state: { limit: 1, ticksSinceCut: 0 }, reason: "parallel_disabled" };
    case "fixed":
      return { state: { limit: Math.max(1, p.max), ticksSinceCut: 0 }, reason: "fixed_max" };
    case "adaptive":
      return initialConcurrency(p);
  }
}

/** The most slots the lane may hold at `level` under its policy: the adaptive core's one rule. */
export function laneCap(p: ConcurrencyPolicy, level: LoadLevel): number {
  const t = concurrencyTerms(p);
  return concurrencyCap({ level, parallel: t.parallel, adaptive: t.adaptive }, t.bounds);
}

export interface LaneTick {
  readonly concurrency: {
    limit: number;
    changed: boolean;
    reason: string;
    from: number;
    /** The slot's duty after and before the tick (1 unless one slot yields below full time). */
    duty: number;
    dutyFrom: number;
  };
  readonly timeout: { ms: number; changed: boolean; reason: string; from: number };
  readonly signals: UpstreamSignals;
}

const JOB_MS_ALPHA = 0.2;
/** Below this (decayed) number of samples a latency percentile is noise. */
const LATENCY_MIN_SAMPLES = 10;
const LATENCY_HALF_LIFE_MS = 10_000;

/**
 * One lane's controller state in one worker process: what its calls and jobs did since the last
 * tick, the latency estimate, and the current concurrency and timeout. The decisions themselves
 * are the pure functions of @moonfleet/adaptive.
 */
export class LaneController {
  private readonly latency = new LatencyEstimator({ minSamples: LATENCY_MIN_SAMPLES });
  /** The fleet's shared histogram of this lane (see exchangeFleetLatency), as of the last tick. */
  private fleetLatency: LatencyEstimator | null = null;
  /** This process's samples since it last shared them with the fleet: bucket -> count. */
  private unshared = new Map<number, number>();
  private baseline: number | null = null;
  // Calls, timeouts and errors fade with the latency half-life, so a lane making a call a second
  // still has enough of them to judge; 429s and budget waits count per tick.
  private window = { calls: 0, timeouts: 0, errors: 0 };
  private tickCounts = { rateLimited: 0, budgetWaits: 0, timeouts: 0 };
  /**
   * Calls that ran to the timeout and went on under a raised one (recordOverrun): this tick's, and
   * recent ones fading as the window does. For the timeout they count as timeouts (a surge's
   * signal); they are no failure, so the concurrency rules and the totals do not see them.
   */
  private overruns = { tick: 0, recent: 0 };
  private totals = {
    jobs: 0,
    tokens: 0,
    failedTokens: 0,
    calls: 0,
    timeouts: 0,
    errors: 0,
    rateLimited: 0,
    budgetWaits: 0,
  };
  private concurrencyState: ConcurrencyState;
  private reason: string;
  private changedAt: number;
  private timeoutMs: number;
  private timeoutReason = "no_data";
  private avgJobMs: number | null = null;
  /** The limit when a co-tenant probe began: a probe that does not pay goes back to it. */
  private beforeProbe: number | null = null;
  // Tokens finished since the last tick, folded into a decaying per-second rate.
  private tickTokens = 0;
  private rate = 0;
  active = 0;

  /** The lane's policy as of the last tick: a timeout raises the timeout at once, before the tick. */
  private policy: LanePolicy;
  /** The timeout was raised by a timeout since the last tick (the tick does not double it again). */
  private raisedAtOnce = false;
  /** The timeout at the end of the last tick: what a tick's change is reported from. */
  private tickTimeoutMs: number;

  constructor(policy: LanePolicy, now: number) {
    this.policy = policy;
    const start = startConcurrency(policy.concurrency);
    this.concurrencyState = start.state;
    this.reason = start.reason;
    this.changedAt = now;
    this.timeoutMs = startTimeoutMs(policy.timeout);
    this.tickTimeoutMs = this.timeoutMs;
    if (policy.timeout.kind === "fixed") this.timeoutReason = "fixed";
  }

  get limit(): number {
    return this.concurrencyState.limit;
  }

  /** The share of the time the lane's one slot works (1 unless it yields to a co-tenant below one slot). */
  get duty(): number {
    return this.concurrencyState.duty ?? 1;
  }

  /** How long the lane's slot rests after a job of `jobMs` (dutyWaitMs); 0 at full duty. */
  restAfter(jobMs: number): number {
    return dutyWaitMs(this.duty, jobMs);
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  /** How long a call that carries an exported token may go unanswered before a hedge goes beside it. */
  get hedgeAfterMs(): number {
    return hedgeDelayMs(this.estimate(0.99), this.timeoutMs);
  }

  /**
   * Lowers the limit at once to what the policy allows at `level` (a runtime change of the
   * bounds); true when it changed.
   */
  clamp(policy: LanePolicy, level: LoadLevel, now: number): boolean {
    const cap = laneCap(policy.concurrency, level);
    if (this.concurrencyState.limit <= cap) return false;
    this.concurrencyState = { ...this.concurrencyState, limit: Math.max(1, cap) };
    this.reason = "clamp_bounds";
    this.changedAt = now;
    return true;
  }

  recordCall(ms: number, outcome: CallOutcome): void {
    this.window.calls++;
    this.totals.calls++;
    if (outcome === "timeout") {
      this.window.timeouts++;
      this.tickCounts.timeouts++;
      this.totals.timeouts++;
      this.latency.recordTimeout(ms);
      this.share(ms);
      // A call that ran out under a lower timeout than today's is already answered.
      if (!(ms < this.timeoutMs)) this.raiseOnTimeout();
    } else if (outcome === "rate_limited") {
      this.tickCounts.rateLimited++;
      this.totals.rateLimited++;
    } else if (outcome === "error") {
      this.window.errors++;
      this.totals.errors++;
    } else {
      this.latency.record(ms);
      this.share(ms);
    }
  }

  /** This tick's calls that ran out of the timeout: timeouts and overruns, the burst rule's input. */
  private get timeoutSignalsThisTick(): number {
    return this.tickCounts.timeouts + this.overruns.tick;
  }

  /**
   * A call in flight ran `ms` to the lane's timeout (CallOptions.overrun): the burst rule applies
   * as for a timeout, before the call reads its timeout again, so the call that meets a latency
   * surge first goes on under the raised timeout instead of being cut and sent again (another
   * request of the budget). It is a timeout only if it outlives the raised one too (recordCall),
   * which is a second signal: such a call (a hang) raises the timeout twice and holds it twice as
   * long as one timeout would.
   */
  recordOverrun(ms: number): void {
    this.overruns.tick++;
    this.overruns.recent++;
    if (!(ms < this.timeoutMs)) this.raiseOnTimeout();
  }

  /**
   * The burst rule of nextTimeout applied the moment a call times out or runs to its timeout, not
   * at the next tick: the calls already in flight read the lane's timeout again when theirs runs
   * out (CallOptions), so the first of a latency surge saves the calls sent beside it.
   */
  private raiseOnTimeout(): void {
    const p = this.policy.timeout;
    if (p.kind !== "dynamic") return;
    const t = nextTimeout(this.timeoutInput(p, "normal", this.timeoutSignalsThisTick));
    if (t.reason === "timeout_burst" && t.timeoutMs > this.timeoutMs) {
      this.timeoutMs = Math.round(t.timeoutMs);
      this.timeoutReason = t.reason;
      this.raisedAtOnce = true;
    }
  }

  /**
   * Another lane of this process raised its timeout at once: both lanes call the same upstream, so
   * this one follows (dynamic timeouts only); true when it rose.
   */
  followBurst(ms: number): boolean {
    if (this.policy.timeout.kind !== "dynamic" || !(ms > this.timeoutMs)) return false;
    this.timeoutMs = Math.round(Math.min(ms, TIMEOUT_MAX_MS));
    this.timeoutReason = "timeout_burst";
    this.raisedAtOnce = true;
    return true;
  }

  /** What nextTimeout decides from: this lane's estimates and timeouts, under `p` at `level`. */
  private timeoutInput(p: LanePolicy["timeout"], level: LoadLevel, timeoutsThisTick: number): TimeoutInput {
    return {
      estimateP99Ms: this.estimate(0.99),
      estimateP95Ms: this.estimate(0.95),
      currentMs: this.timeoutMs,
      timeoutsThisTick,
      recentTimeouts: this.window.timeouts + this.overruns.recent,
      baseMs: startTimeoutMs(p),
      underLoadMs: p.kind === "dynamic" ? p.underLoadMs : p.ms,
      level,
      dynamic: p.kind === "dynamic",
    };
  }

  private share(ms: number): void {
    if (Number.isNaN(ms)) return;
    const b = latencyBucket(ms);
    this.unshared.set(b, (this.unshared.get(b) ?? 0) + 1);
  }

  /** The samples not yet shared with the fleet; the lane forgets them once taken. */
  takeUnshared(): Map<number, number> {
    const out = this.unshared;
    this.unshared = new Map();
    return out;
  }

  /**
   * A latency percentile to decide on: this process's own recent calls when they are enough, else
   * the fleet's shared histogram (more calls, a longer memory), else null.
   */
  private estimate(q: number): number | null {
    return this.latency.percentile(q) ?? this.fleetLatency?.percentile(q) ?? null;
  }

  recordBudgetWait(): void {
    this.tickCounts.budgetWaits++;
    this.totals.budgetWaits++;
  }

  recordJob(durationMs: number, tokens: number, failedTokens: number): void {
    this.totals.jobs++;
    this.totals.tokens += tokens;
    this.tickTokens += tokens;
    this.totals.failedTokens += failedTokens;
    this.avgJobMs =
      this.avgJobMs === null ? durationMs : this.avgJobMs + JOB_MS_ALPHA * (durationMs - this.avgJobMs);
  }

  /** One controller tick: decide concurrency and timeout from this tick's signals. */
  tick(
    level: LoadLevel,
    waiting: number,
    policy: LanePolicy,
    now: number,
    intervalMs: number,
    eventLoopP99Ms = 0,
    /** The fleet's shared latency histogram of this lane, when the worker exchanged it this tick. */
    fleet: LatencyBuckets | null = null,
    /** The co-tenant experiment's verdict this tick, and whether this lane gives way first. */
    cpu: { verdict: ContentionVerdict; yieldStep: boolean; elastic: boolean } = {
      verdict: "none",
      yieldStep: false,
      elastic: false,
    },
    /** The process's connection pool as its calls found it this tick (connectionQueueDepth). */
    connectionQueue: number | null = null,
  ): LaneTick {
    if (cpu.verdict === "probe") this.beforeProbe = this.concurrencyState.limit;
    const restoreTo = cpu.verdict === "undo" ? this.beforeProbe : null;
    if (cpu.verdict !== "probe" && cpu.verdict !== "probing") this.beforeProbe = null;
    this.policy = policy;
    if (fleet) this.fleetLatency = LatencyEstimator.fromBuckets(fleet, { minSamples: LATENCY_MIN_SAMPLES });
    const p50 = this.latency.percentile(0.5);
    const signals: UpstreamSignals = {
      ...this.window,
      ...this.tickCounts,
      latencyP50Ms: p50,
      latencyP95Ms: this.latency.percentile(0.95),
      baselineLatencyMs: this.baseline,
      connectionQueue,
    };
    const fromLimit = this.concurrencyState.limit;
    const fromDuty = this.duty;
    const terms = concurrencyTerms(policy.concurrency);
    const decision = nextConcurrency(
      this.concurrencyState,
      {
        level,
        queue: { waiting, active: this.active },
        upstream: signals,
        parallel: terms.parallel,
        adaptive: terms.adaptive,
        eventLoopP99Ms,
        elastic: cpu.elastic,
        yieldStep: cpu.yieldStep,
        restoreTo,
      },
      terms.bounds,
    );
    this.concurrencyState = decision.state;
    if (decision.changed) {
      this.reason = decision.reason;
      this.changedAt = now;
    }
    const fromTimeout = this.tickTimeoutMs;
    const timeout = nextTimeout(
      this.timeoutInput(policy.timeout, level, this.raisedAtOnce ? 0 : this.timeoutSignalsThisTick),
    );
    // A raise at once stands for this tick's decision when the tick would not go higher.
    const raised = this.raisedAtOnce && this.timeoutMs >= timeout.timeoutMs;
    if (!raised) {
      this.timeoutMs = Math.round(timeout.timeoutMs);
      this.timeoutReason = timeout.reason;
    }
    this.raisedAtOnce = false;
    this.tickTimeoutMs = this.timeoutMs;
    // The baseline follows p50 slowly (alpha 0.05), so a surge stands out against it for a while.
    this.baseline = nextBaseline(this.baseline, p50);
    // Samples fade with a 10 s half-life whatever the tick, so the estimate has enough data at the
    // few calls per second a budgeted upstream allows.
    const fade = 0.5 ** (intervalMs / LATENCY_HALF_LIFE_MS);
    this.rate = this.rate * fade + (1 - fade) * (this.tickTokens / (intervalMs / 1000));
    this.tickTokens = 0;
    this.latency.decay(fade);
    this.window = {
      calls: this.window.calls * fade,
      timeouts: this.window.timeouts * fade,
      errors: this.window.errors * fade,
    };
    this.tickCounts = { rateLimited: 0, budgetWaits: 0, timeouts: 0 };
    this.overruns = { tick: 0, recent: this.overruns.recent * fade };
    return {
      concurrency: {
        limit: decision.limit,
        changed: decision.changed,
        reason: decision.reason,
        from: fromLimit,
        duty: decision.duty,
        dutyFrom: fromDuty,
      },
      timeout: {
        ms: this.timeoutMs,
        changed: this.timeoutMs !== fromTimeout,
        reason: this.timeoutReason,
        from: fromTimeout,
      },
      signals,
    };
  }

  state(): LaneState {
    return {
      concurrency: this.concurrencyState.limit,
      ...(this.duty < 1 ? { duty: this.duty } : {}),
      active: this.active,
      reason: this.reason,
      changedAt: this.changedAt,
      timeoutMs: this.timeoutMs,
      timeoutReason: this.timeoutReason,
      ...this.totals,
      tokensPerSecond: Math.round(this.rate * 10) / 10,
      recentCalls: Math.round(this.window.calls * 10) / 10,
      recentTimeouts: Math.round(this.window.timeouts * 10) / 10,
      recentErrors: Math.round(this.window.errors * 10) / 10,
      avgJobMs: this.avgJobMs === null ? null : Math.round(this.avgJobMs),
      latencyP50Ms: round(this.estimate(0.5)),
      latencyP95Ms: round(this.estimate(0.95)),
    };
  }
}

const round = (v: number | null) => (v === null ? null : Math.round(v));
