import type { BreakerState, Lane } from "@moonfleet/domain";
import type { CallOutcome, HedgeEvent, RejectedPair, UpstreamError } from "@moonfleet/upstream";
import type { BatchOutcome } from "./batch-processor.js";
import type { JobNotNow } from "./job-outcome.js";

/** What a worker process's parts report; the summaries (logs, metrics) and the controller listen. */
export interface WorkerEventMap {
  /** One upstream call ended. */
  call: { lane: Lane; ms: number; outcome: CallOutcome };
  /** A call in flight ran `ms` to its lane's timeout and goes on under the timeout as it is now. */
  overrun: { lane: Lane; ms: number };
  /** A call had to wait for the fleet's budget (or gave up waiting). */
  budgetWait: { lane: Lane };
  /** A hedge went out beside a slow call carrying an exported token, and which answered first. */
  hedge: { lane: Lane; event: HedgeEvent };
  /** Pairs of an answer failed validation and were dropped. */
  pairsRejected: { lane: Lane; kind: "batch" | "fallback"; rejected: readonly RejectedPair[] };
  /** A 429's Retry-After was longer than the budget's cap and was cut. */
  pauseCapped: { lane: Lane; retryAfterMs: number; pausedForMs: number };
  /** The circuit breaker changed state. */
  breaker: { from: BreakerState; to: BreakerState; why: string };
  /** A batch's call failed for `mints` of its tokens (once per distinct failure). */
  callFailed: { lane: Lane; mints: number; err: UpstreamError };
  /** A batch ran to its end (some of its tokens may have been told "not now"). */
  batch: { lane: Lane; jobId: string | undefined; result: BatchOutcome };
  /** A job went back to wait with its attempts intact: `outcome` says why and for how long. */
  deferred: {
    lane: Lane;
    jobId: string | undefined;
    outcome: JobNotNow;
    delayMs: number;
    scored: number | null;
  };
}

type Listener<K extends keyof WorkerEventMap> = (event: WorkerEventMap[K]) => void;

/** A typed, synchronous event bus: listeners run in order, in the emitter's turn. */
export class WorkerEvents {
  private readonly listeners: { [K in keyof WorkerEventMap]?: Array<Listener<K>> } = {};

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof WorkerEventMap>(name: K, listener: Listener<K>): () => void {
    const list = (this.listeners[name] ??= []) as Array<Listener<K>>;
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  emit<K extends keyof WorkerEventMap>(name: K, event: WorkerEventMap[K]): void {
    for (const listener of this.listeners[name] ?? []) listener(event);
  }
}
