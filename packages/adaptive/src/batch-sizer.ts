// Batch size per lane: how many due tokens the producer puts in one job.
//
// Why these rules:
// - Jobs of about 1.5 s. A long job holds its slot, so the concurrency controller's cuts take
//   effect only as jobs finish, and a job lost to a crash redoes a lot of work; a very short job
//   spends more on queue bookkeeping than on calls. So the sizer learns ms per token (an EWMA) and
//   aims the job duration at TARGET_JOB_MS: it shrinks when a job of the current size would take
//   well over 1.5x the target, and grows when it would take well under the target/1.5 and there is
//   backlog. After a change it waits SETTLE_TICKS so jobs of the new size are measured first.
// - Every slot busy. When the queue holds fewer jobs than the fleet has slots, a batch larger than
//   ceil(dueNow / slots) would leave slots idle, so that is an upper guide.
// - High fleet load: halve toward min, so each job asks less of a struggling worker.
// - The upstream takes 30 mints per call, so sizes of 30 and more are multiples of 30.
// - At most x2 or /2 per tick, within [min, max]; state is plain JSON the producer stores in Redis.
import { MINTS_PER_CALL } from "@moonfleet/domain";
import type {
  BatchSizeDecision,
  BatchSizeReason,
  BatchSizerBounds,
  BatchSizerInput,
  BatchSizerState,
} from "./types.js";

export const TARGET_JOB_MS = 1500;
/** Job durations within [target / band, target x band] leave the size alone. */
export const JOB_MS_BAND = 1.5;
/** Weight of the newest measurement in the ms-per-token EWMA. */
export const JOB_MS_ALPHA = 0.3;
/** Ticks after a change before job durations may change the size again. */
export const SETTLE_TICKS = 2;

/** The state to start from (or to use when the stored one is missing): the legacy fixed size, fitted. */
export function initialBatchSizerState(bounds: BatchSizerBounds): BatchSizerState {
  const size = bounds.adaptive ? fit(bounds.fixed, bounds.min, bounds.max) : bounds.fixed;
  return { size, msPerToken: null, ticksSinceChange: SETTLE_TICKS };
}

export function nextBatchSize(
  state: BatchSizerState,
  input: BatchSizerInput,
  bounds: BatchSizerBounds,
): BatchSizeDecision {
  const msPerToken = learn(state, input);
  const ticks = Number.isFinite(state.ticksSinceChange) ? Math.max(0, state.ticksSinceChange) : 0;

  if (!bounds.adaptive) {
    const size = bounds.fixed;
    return decide(
      state,
      { size, msPerToken, ticksSinceChange: size !== state.size ? 0 : ticks + 1 },
      "fixed",
    );
  }

  const current = fit(Number.isFinite(state.size) ? state.size : bounds.fixed, bounds.min, bounds.max);
  const slots = Math.max(1, input.fleet.slots);
  let target = current;
  let reason: BatchSizeReason = "hold";

  if (input.fleet.level === "high") {
    target = current / 2;
    reason = "shrink_high_load";
  } else if (msPerToken !== null && msPerToken > 0) {
    const predictedMs = current * msPerToken;
    const slow = predictedMs > TARGET_JOB_MS * JOB_MS_BAND;
    const fast = predictedMs < TARGET_JOB_MS / JOB_MS_BAND;
    const backlog = input.waitingJobs >= slots || input.dueNow > current * slots;
    if ((slow || (fast && backlog)) && ticks < SETTLE_TICKS) {
      reason = "hold_settling";
    } else if (slow) {
      target = TARGET_JOB_MS / msPerToken;
      reason = "shrink_slow_jobs";
    } else if (fast && backlog) {
      target = TARGET_JOB_MS / msPerToken;
      reason = "grow_backlog";
    }
  }

  // Few jobs queued: do not pack the due tokens into fewer jobs than there are slots.
  if (input.waitingJobs < slots && input.dueNow > 0) {
    // Never below one full upstream call: the budget counts calls, so spreading 20 tokens over 16
    // slots as 16 calls of one or two would spend 16 permits where one does the job.
    const spread = Math.max(MINTS_PER_CALL, Math.ceil(input.dueNow / slots));
    if (spread < target) {
      target = spread;
      reason = "spread_small_backlog";
    }
  }

  const stepped = Math.min(current * 2, Math.max(current / 2, target));
  const size = fit(roundWithin(stepped, current / 2, current * 2), bounds.min, bounds.max);
  // A size that moved although no rule asked: the bounds changed under it, or the stored size was
  // not a valid one (a legacy 35).
  if (size !== state.size && (reason === "hold" || reason === "hold_settling")) reason = "clamp_bounds";

  return decide(state, { size, msPerToken, ticksSinceChange: size !== state.size ? 0 : ticks + 1 }, reason);
}

function decide(
  previous: BatchSizerState,
  state: BatchSizerState,
  reason: BatchSizeReason,
): BatchSizeDecision {
  return { state, size: state.size, changed: state.size !== previous.size, reason };
}

/** Fold the latest job duration into the ms-per-token EWMA. */
function learn(state: BatchSizerState, input: BatchSizerInput): number | null {
  const previous = state.msPerToken !== null && Number.isFinite(state.msPerToken) ? state.msPerToken : null;
  if (input.avgJobMs === null || !Number.isFinite(input.avgJobMs) || input.avgJobMs < 0) return previous;
  const tokens = input.avgJobTokens ?? state.size;
  if (!Number.isFinite(tokens) || tokens <= 0) return previous;
  const sample = input.avgJobMs / tokens;
  return previous === null ? sample : previous + JOB_MS_ALPHA * (sample - previous);
}

/** Round to a multiple of 30 from 30 up, staying inside [low, high] when a multiple fits. */
function roundWithin(n: number, low: number, high: number): number {
  if (n < MINTS_PER_CALL) return Math.round(n);
  let r = Math.round(n / MINTS_PER_CALL) * MINTS_PER_CALL;
  if (r > high && r - MINTS_PER_CALL >= Math.max(low, MINTS_PER_CALL)) r -= MINTS_PER_CALL;
  if (r < low && r + MINTS_PER_CALL <= high) r += MINTS_PER_CALL;
  return r;
}

/**
 * Clamp to [min, max] as whole tokens, keeping multiples of 30: from 30 up the bounds themselves
 * round inward (MAX_BATCH_SIZE=100 allows 90), unless no multiple of 30 fits between them.
 */
export function fit(n: number, min: number, max: number): number {
  const lo = Math.max(1, Math.ceil(Math.min(min, max)));
  const hi = Math.max(lo, Math.floor(max));
  const clamped = Math.min(hi, Math.max(lo, Math.round(n)));
  if (clamped < MINTS_PER_CALL) return clamped;
  const multiple = Math.round(clamped / MINTS_PER_CALL) * MINTS_PER_CALL;
  if (multiple >= lo && multiple <= hi) return multiple;
  const down = Math.floor(hi / MINTS_PER_CALL) * MINTS_PER_CALL;
  if (down >= lo && down >= MINTS_PER_CALL) return down;
  const up = Math.ceil(lo / MINTS_PER_CALL) * MINTS_PER_CALL;
  if (up <= hi) return up;
  return clamped;
}
