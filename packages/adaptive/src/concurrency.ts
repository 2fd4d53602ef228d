// The concurrency controller: AIMD (additive increase, multiplicative decrease), as in TCP
// congestion control. Growing by one slot per tick probes for headroom gently; cutting by a
// fraction backs off fast when the machine or the upstream says it is overloaded. Applied every
// CONTROLLER_INTERVAL_MS, one decision per lane per process.
//
// Rules, first match wins, then the result is clamped to [1, max] (and to the under-load cap
// while high):
//   parallel off                   -> 1                                   parallel_disabled
//   adaptive concurrency off       -> max, whatever the load and upstream  fixed_max
//   undo (a cut for a co-tenant that did not pay, see contention.ts) -> the limit before it  undo_cut
//   load high, elastic lane, a yield step -> max(1, floor(limit/2))          cut_cotenant
//        (a co-tenant took the CPU the fleet gave up: the cold lane keeps halving, every few ticks;
//        at one slot it halves the slot's duty, the share of the time it may work, down to
//        MIN_DUTY: one slot of a cold lane whose tokens are always due still kept a core a third busy)
//   load high                      -> min(underLoad, limit), halved while the loop lags  cut_high_load
//        (one tick brings any limit under the cap)
//   429s this tick                 -> x0.5                                cut_rate_limited
//   timeouts+errors > 10% (>=5 calls, >=3 failed) -> x0.7                  cut_upstream_errors
//   p50 > 2 x baseline (>=5 calls) -> x0.8, not below the under-load cap   cut_latency_rising
//        (at most once per cooldown: latency answers a cut with a delay, and cutting again before
//        the last cut has shown its effect would drive the limit to 1 on one slow episode;
//        at or below the cap -> hold_latency_rising. Slower is not broken: by Little's law a lane
//        needs rate x latency slots, so cutting to 1 on latency alone starved the lane through a
//        surge the upstream answered without an error. Errors, timeouts and 429s cut below it.)
//   load reduced                   -> hold                                hold_reduced_load
//   the calls wait a pool's round for a connection (queue >= 1 per connection), above the under-load
//        cap, >= 3 ticks since the last cut and the last trim -> -1      trim_connections
//        (no cut: the error and latency cuts need no cooldown after it)
//   normal, work waiting and every slot busy, >= 3 ticks since the last cut -> +1  grow_backlog
//        (a slot below full duty doubles its duty first, before the budget and pool holds)
//        (sooner -> hold_cooldown: growing right after a cut is how AIMD oscillates; while the calls
//        wait on the request budget -> hold_budget, or, at or above the under-load cap, for a
//        connection (queue >= 0.5 per connection) -> hold_connections; at max -> hold_max)
//   normal otherwise               -> hold                                hold_idle
// A decision that only the clamp changed (the operator lowered max at runtime) says clamp_bounds.
// The duty is 1 whenever the limit is above one slot, and back to 1 on undo_cut, fixed_max and
// parallel_disabled; every other rule keeps it.
import type { ConnectionQueue, LoadLevel } from "@moonfleet/domain";
import { EVENT_LOOP_HIGH_MS } from "./load-level.js";
import type {
  ConcurrencyBounds,
  ConcurrencyDecision,
  ConcurrencyReason,
  ConcurrencyState,
  QueueSignals,
  UpstreamSignals,
} from "./types.js";

/** Ticks after a cut before the limit may grow again. */
export const GROWTH_COOLDOWN_TICKS = 3;
export const RATE_LIMITED_FACTOR = 0.5;
export const UPSTREAM_ERROR_FACTOR = 0.7;
export const LATENCY_RISING_FACTOR = 0.8;
/** Share of calls that may time out or fail before the limit is cut. */
export const UPSTREAM_ERROR_RATIO = 0.1;
/** Latency p50 above this multiple of the baseline counts as rising. */
export const LATENCY_GRADIENT = 2;
/** Calls a tick needs before its error ratio or latency says anything. */
export const MIN_CALLS_FOR_SIGNAL = 5;
/**
 * Failed calls (timeouts and errors, decayed) the error cut needs besides the ratio: at a budgeted
 * lane's few calls, one hung call among five is 20 % (measured: a latency surge whose only failures
 * were its 2 % hung calls cut the hot lane to 2 slots and halved its tokens/s against fixed).
 */
export const MIN_FAILURES_FOR_CUT = 3;
/**
 * Calls waiting for one of the process's upstream connections, per connection, at which a lane
 * stops growing. The pool serves (connections / time on the wire) calls a second whatever the
 * slots: past it a slot only adds a job in flight (its live heap, its calls queued). Measured in
 * `unbounded` (16 connections, 2 workers, every lane held at a fixed number of slots): 4 / 6 / 10 /
 * 14 / 20 slots a worker 0.08 / 0.10 / 0.21 / 0.60 / 1.40, at 5,678 / 7,399 / 8,207 / 9,142 / 8,931
 * tokens/s (test/traces/connection-queue.json). Below the under-load cap a lane grows back to it
 * whatever the pool says: the cap is each lane's share of the pool.
 */
export const CONNECTION_QUEUE_HOLD = 0.5;
/**
 * ... and at which a lane gives a slot back (not below the under-load cap), once every
 * GROWTH_COOLDOWN_TICKS: each call waits about a whole round of the pool, as long as the wire
 * takes, so the slot's calls only queue. A trim is no cut: the error and latency cuts do not wait
 * for a cooldown after it.
 */
export const CONNECTION_QUEUE_TRIM = 1;

/**
 * The least share of the time a yielding lane's one slot works. Measured in cpu-squeeze: at one
 * slot a worker, the cold lane (its tokens always due) still scored ~1,500 tokens/s beside the
 * co-tenants; two halvings leave it a quarter of that, and the hot lane its share untouched.
 */
export const MIN_DUTY = 0.25;
/** The longest a slot below full duty rests between two jobs. */
export const MAX_DUTY_WAIT_MS = 5_000;

/** A duty in [MIN_DUTY, 1]; garbage and absence are 1. */
function dutyOf(d: number | undefined): number {
  return d !== undefined && Number.isFinite(d) ? Math.min(1, Math.max(MIN_DUTY, d)) : 1;
}

/**
 * How long a slot at `duty` rests after a job of `jobMs`, before it takes the next: it works `duty`
 * of the time, so jobMs x (1/duty - 1), at most MAX_DUTY_WAIT_MS; 0 at full duty.
 */
export function dutyWaitMs(duty: number, jobMs: number): number {
  const d = dutyOf(duty);
  if (d >= 1 || !Number.isFinite(jobMs) || jobMs <= 0) return 0;
  return Math.round(Math.min(MAX_DUTY_WAIT_MS, jobMs * (1 / d - 1)));
}

export interface ConcurrencyInput {
  readonly level: LoadLevel;
  /** This process's event-loop delay p99 (ms): under high load, a lagging loop cuts below the cap. */
  readonly eventLoopP99Ms?: number;
  readonly queue: QueueSignals;
  readonly upstream: UpstreamSignals;
  readonly parallel: boolean;
  /** ENABLE_ADAPTIVE_CONCURRENCY; false holds the limit at max (no cap, no cut). Default true. */
  readonly adaptive?: boolean;
  /** The lane gives way first when a co-tenant needs the CPU (the cold lane). */
  readonly elastic?: boolean;
  /** A co-tenant takes the CPU the fleet gives up: the elastic lane halves this tick (contention.ts). */
  readonly yieldStep?: boolean;
  /** A cut for a co-tenant did not pay: go back to this limit. */
  readonly restoreTo?: number | null;
}

const CUT_REASONS: ReadonlySet<ConcurrencyReason> = new Set([
  "cut_high_load",
  "cut_cotenant",
  "cut_rate_limited",
  "cut_upstream_errors",
  "cut_latency_rising",
]);

/** A positive whole number; garbage (NaN, 0, negatives) becomes 1. */
function atLeastOne(n: number): number {
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
}

/**
 * The limit a process starts with: the under-load cap (never above max). Starting low and growing
 * is safer than starting at max on a machine whose load is not known yet; growth is allowed at once.
 */
export function initialConcurrency(bounds: ConcurrencyBounds): ConcurrencyDecision {
  const limit = Math.min(atLeastOne(bounds.max), atLeastOne(bounds.underLoad));
  return {
    state: { limit, ticksSinceCut: GROWTH_COOLDOWN_TICKS },
    limit,
    duty: 1,
    changed: true,
    reason: "start",
  };
}

/**
 * The most slots a lane may hold now: 1 with parallel off, max with adaptive concurrency off
 * (fixed: no cap whatever the load), the under-load cap while high. Every decision and every
 * immediate clamp (a runtime change of the bounds) ends within it.
 */
export function concurrencyCap(
  input: Pick<ConcurrencyInput, "level" | "parallel" | "adaptive">,
  bounds: ConcurrencyBounds,
): number {
  if (!input.parallel) return 1;
  const max = atLeastOne(bounds.max);
  const fixed = input.adaptive === false;
  return input.level === "high" && !fixed ? Math.min(max, atLeastOne(bounds.underLoad)) : max;
}

export function nextConcurrency(
  state: ConcurrencyState,
  input: ConcurrencyInput,
  bounds: ConcurrencyBounds,
): ConcurrencyDecision {
  const max = atLeastOne(bounds.max);
  const underLoad = atLeastOne(bounds.underLoad);
  const cap = concurrencyCap(input, bounds);
  const current = atLeastOne(state.limit);
  const ticksSinceCut = Number.isFinite(state.ticksSinceCut) ? Math.max(0, state.ticksSinceCut) : 0;
  // a state built without it (a lane's start, a clamp's copy of an older one): as long ago as the last cut
  const ticksSinceTrim = Number.isFinite(state.ticksSinceTrim)
    ? Math.max(0, state.ticksSinceTrim ?? 0)
    : ticksSinceCut;

  const currentDuty = current > 1 ? 1 : dutyOf(state.duty);
  const {
    proposed,
    reason,
    duty: proposedDuty,
  } = propose(current, currentDuty, ticksSinceCut, ticksSinceTrim, input, max, underLoad);
  const limit = Math.min(Math.max(proposed, 1), cap);
  const duty = limit > 1 ? 1 : dutyOf(proposedDuty ?? currentDuty);
  // the bounds, not the rule, set it (the operator lowered max below a trim or a hold): say so
  const finalReason: ConcurrencyReason =
    limit !== proposed && !CUT_REASONS.has(reason) && reason !== "parallel_disabled"
      ? "clamp_bounds"
      : reason;

  return {
    state: {
      limit,
      ticksSinceCut: CUT_REASONS.has(finalReason) ? 0 : ticksSinceCut + 1,
      ticksSinceTrim: finalReason === "trim_connections" ? 0 : ticksSinceTrim + 1,
      ...(duty < 1 ? { duty } : {}),
    },
    limit,
    duty,
    changed: limit !== state.limit || duty !== currentDuty,
    reason: finalReason,
  };
}

/** A rule's proposal: the limit, why, and the duty when the rule sets one (else it is kept). */
interface Proposal {
  readonly proposed: number;
  readonly reason: ConcurrencyReason;
  readonly duty?: number;
}

function propose(
  current: number,
  duty: number,
  ticksSinceCut: number,
  ticksSinceTrim: number,
  input: ConcurrencyInput,
  max: number,
  underLoad: number,
): Proposal {
  if (!input.parallel) return { proposed: 1, reason: "parallel_disabled", duty: 1 };
  if (input.adaptive === false) return { proposed: max, reason: "fixed_max", duty: 1 };

  if (input.restoreTo !== undefined && input.restoreTo !== null) {
    return { proposed: Math.min(max, atLeastOne(input.restoreTo)), reason: "undo_cut", duty: 1 };
  }

  if (input.level === "high" && input.elastic && input.yieldStep) {
    // at one slot, the slot's duty halves instead
    if (current <= 1) return { proposed: 1, reason: "cut_cotenant", duty: duty / 2 };
    return { proposed: Math.max(1, Math.floor(current / 2)), reason: "cut_cotenant" };
  }
  if (input.level === "high") {
    // Down to the under-load cap at once. Below it only while this process's own event loop lags
    // (it is part of the problem): measured, halving on host CPU alone took a fleet that merely
    // kept 2 cores busy down to 1 slot per lane and cost it a third of its throughput.
    const lagging = (input.eventLoopP99Ms ?? 0) >= EVENT_LOOP_HIGH_MS;
    const target = lagging ? Math.floor(current / 2) : current;
    return { proposed: Math.max(1, Math.min(underLoad, target)), reason: "cut_high_load" };
  }

  const up = input.upstream;
  if (up.rateLimited > 0) {
    return { proposed: cut(current, RATE_LIMITED_FACTOR), reason: "cut_rate_limited" };
  }
  const enoughCalls = up.calls >= MIN_CALLS_FOR_SIGNAL;
  // Error and latency signals span several ticks, so one bad episode gets one cut per cooldown,
  // not one per tick.
  if (
    enoughCalls &&
    up.timeouts + up.errors >= MIN_FAILURES_FOR_CUT &&
    (up.timeouts + up.errors) / up.calls > UPSTREAM_ERROR_RATIO &&
    ticksSinceCut >= GROWTH_COOLDOWN_TICKS
  ) {
    return { proposed: cut(current, UPSTREAM_ERROR_FACTOR), reason: "cut_upstream_errors" };
  }
  const latencyRising =
    enoughCalls &&
    up.latencyP50Ms !== null &&
    up.baselineLatencyMs !== null &&
    up.latencyP50Ms > LATENCY_GRADIENT * up.baselineLatencyMs;
  if (latencyRising && current <= underLoad) return { proposed: current, reason: "hold_latency_rising" };
  if (latencyRising && ticksSinceCut >= GROWTH_COOLDOWN_TICKS) {
    return {
      proposed: Math.max(underLoad, cut(current, LATENCY_RISING_FACTOR)),
      reason: "cut_latency_rising",
    };
  }

  if (input.level === "reduced") return { proposed: current, reason: "hold_reduced_load" };

  // The pool is what limits the lane, not its slots: calls only wait longer for a connection when
  // a slot is added, and a slot given back costs no tokens/s (the pool stays full) while it frees
  // a job's heap and its queued calls. Not below the under-load cap, which keeps a lane its share
  // of the pool whatever the other lane holds (an idle lane is trimmed too: its calls would queue).
  const connectionQueue = up.connectionQueue ?? null;
  if (
    connectionQueue !== null &&
    connectionQueue >= CONNECTION_QUEUE_TRIM &&
    current > underLoad &&
    ticksSinceCut >= GROWTH_COOLDOWN_TICKS &&
    ticksSinceTrim >= GROWTH_COOLDOWN_TICKS
  ) {
    return { proposed: current - 1, reason: "trim_connections" };
  }

  const saturated = input.queue.waiting > 0 && input.queue.active >= current;
  if (!saturated) return { proposed: current, reason: "hold_idle" };
  if (ticksSinceCut < GROWTH_COOLDOWN_TICKS) return { proposed: current, reason: "hold_cooldown" };
  // A slot below full duty grows its duty back first, whatever the budget or the pool say: the
  // duty adds no call in flight, it only ends the slot's rests.
  if (duty < 1) return { proposed: current, reason: "grow_backlog", duty: Math.min(1, duty * 2) };
  if ((up.budgetWaits ?? 0) > 0) return { proposed: current, reason: "hold_budget" };
  if (connectionQueue !== null && connectionQueue >= CONNECTION_QUEUE_HOLD && current >= underLoad) {
    return { proposed: current, reason: "hold_connections" };
  }
  if (current >= max) return { proposed: current, reason: "hold_max" };
  return { proposed: current + 1, reason: "grow_backlog" };
}

/**
 * Calls found waiting for a connection per connection of the pool, on average over the calls that
 * started (null without calls): 0 while every call finds a free connection, 1 when each finds a
 * whole pool's round of calls ahead of it. No minimum of calls: a slow upstream makes few calls a
 * tick exactly when its pool is full, and half a pool's connections' worth of calls waiting is
 * not found by luck.
 */
export function connectionQueueDepth(r: ConnectionQueue): number | null {
  if (!(r.calls > 0) || !Number.isFinite(r.waitingSum)) return null;
  return Math.max(0, r.waitingSum) / r.calls / Math.max(1, r.connections);
}

function cut(limit: number, factor: number): number {
  return Math.max(1, Math.floor(limit * factor));
}
