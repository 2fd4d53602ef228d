import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { Pair } from "@moonfleet/scoring";
import { backoffMs } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import type { CallOptions, PairsAnswer, RejectedPair, UpstreamClient } from "./client.js";
import { MINTS_PER_CALL, type Lane } from "@moonfleet/domain";
import { schemaMismatch } from "./client.js";
import { Coalescer, type MintResult } from "./coalescer.js";
import {
  UpstreamBudgetExhaustedError,
  UpstreamCircuitOpenError,
  UpstreamEmptyAnswerError,
  UpstreamError,
  UpstreamFallbackDeferredError,
  UpstreamPairsRejectedError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
} from "./errors.js";
import { asksFirst, permitWaitMs, takesAs, type RateBudget } from "./rate-budget.js";
import { eitherSignal } from "./abort.js";

export type CallOutcome = "ok" | "timeout" | "error" | "rate_limited";

/** What a hedged call did: went out beside a slow call, answered first (won), or came second (lost). */
export type HedgeEvent = "sent" | "won" | "lost";

export interface Fetched {
  readonly pairs: readonly Pair[];
  /** When the answer arrived (epoch ms). */
  readonly fetchedAt: number;
}

export interface GatewaySettings {
  readonly retries: number;
  readonly maxWaitMs: number;
  readonly coalesceMs: number;
}

export interface GatewayDeps {
  readonly client: UpstreamClient;
  /** The fleet's request budget; null runs unbudgeted (tests of the client alone). */
  readonly budget: RateBudget | null;
  readonly breaker: CircuitBreaker;
  readonly settings: () => GatewaySettings;
  readonly timeoutFor: (lane: Lane) => number;
  /** Aborts every call in flight (the process is stopping). */
  readonly signal?: AbortSignal;
  /** Mints whose empty batch answer deserves a `/token-pairs/v1` look before counting as "no pairs". */
  readonly wantsFallback?: (mint: string) => boolean;
  /**
   * Mints that had pairs at their last fetch: a batch answer with no pair for any mint, when at
   * least EMPTY_ANSWER_FAULT_MINTS of them had pairs, is an upstream fault, not that many fallbacks.
   */
  readonly hadPairs?: (mint: string) => boolean;
  /** When a mint's job was to start at the latest (BatchJob.urgentAt), if it says: see takesAs. */
  readonly urgentAt?: (mint: string) => number | undefined;
  /** The fleet's budget for fallback calls (taken before the main one); null or absent: no limit. */
  readonly fallbackBudget?: RateBudget | null;
  /** Pairs of an answer that failed validation and were dropped. */
  readonly onPairsRejected?: (
    lane: Lane,
    kind: "batch" | "fallback",
    rejected: readonly RejectedPair[],
  ) => void;
  /** A 429's Retry-After was longer than the budget's cap and was cut to `pausedForMs`. */
  readonly onPauseCapped?: (lane: Lane, retryAfterMs: number, pausedForMs: number) => void;
  readonly onCall?: (lane: Lane, ms: number, outcome: CallOutcome, kind: "batch" | "fallback") => void;
  /**
   * A call of the lane ran `ms` to its timeout and goes on: raise the lane's timeout here and the
   * call follows it (CallOptions.overrun); it times out only past the raised one.
   */
  readonly onOverrun?: (lane: Lane, ms: number) => void;
  /**
   * When to send a second, identical batch call beside one of these mints that has not answered
   * yet (a hedged request), ms after the first went out; null for none. The first answer wins and
   * the other is aborted; each takes its own breaker and budget permits. The worker hedges the
   * calls that carry an exported token, at about the lane's p99 latency: a call that hangs would
   * otherwise hold that token until its timeout and a retry, past EXPORT_REFRESH_S.
   */
  readonly hedgeAfterMs?: (lane: Lane, mints: readonly string[]) => number | null;
  /**
   * Asked when a call has gone unanswered for its hedge delay: whether the hedge goes out after
   * all. The worker answers from the job's exported mints and, for a call without one, from the
   * exports as they are now (a token that entered them after its job was loaded). Unset: it goes.
   */
  readonly hedgeWanted?: (lane: Lane, mints: readonly string[]) => boolean | Promise<boolean>;
  /**
   * How far ahead of the calls past their start-by that asked before it a call of these mints past
   * its own queues for its budget permit, ms (RateBudget.take's headStartMs); unset: 0, in the
   * order they asked. The worker gives the calls carrying an exported token EXPORTED_HEAD_START_MS.
   */
  readonly firstHeadStartMs?: (lane: Lane, mints: readonly string[]) => number;
  /** A hedge went out beside a slow call (`sent`), and which of the two answered first. */
  readonly onHedge?: (lane: Lane, event: HedgeEvent) => void;
  /** A call had to wait for the budget (or gave up waiting). */
  readonly onBudgetWait?: (lane: Lane, waitMs: number) => void;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** How many mints that had pairs must all come back empty before the answer counts as a fault. */
export const EMPTY_ANSWER_FAULT_MINTS = 2;

/** Pure: a batch answer that names none of its mints, though EMPTY_ANSWER_FAULT_MINTS or more of them had pairs. */
export function isEmptyAnswerFault(
  mints: readonly string[],
  answer: PairsAnswer,
  hadPairs: (mint: string) => boolean,
): boolean {
  const asked = new Set(mints);
  const named = [...answer.pairs.map((p) => p.baseToken.address), ...answer.rejected.map((r) => r.mint)];
  if (named.some((m) => m !== null && asked.has(m))) return false;
  return mints.filter(hadPairs).length >= EMPTY_ANSWER_FAULT_MINTS;
}

/**
 * Pure: an answer with no valid pair whose bad pairs belong to none of the asked mints (a changed
 * shape, or garbage) cannot be read for any mint: it fails as a whole, as a schema error.
 */
export function unreadableAnswer(mints: readonly string[], answer: PairsAnswer): UpstreamSchemaError | null {
  if (answer.pairs.length > 0 || answer.rejected.length === 0) return null;
  const asked = new Set(mints);
  if (answer.rejected.some((r) => r.mint !== null && asked.has(r.mint))) return null;
  return schemaMismatch(answer.rejected);
}

export interface PairsGateway {
  /** Pairs of `mints`, merged with other jobs' asks into calls of 30 (the optimized path). */
  request(lane: Lane, mints: readonly string[]): Promise<Map<string, MintResult<Fetched>>>;
  /** One call for at most 30 mints, no merging (the legacy and non-parallel paths). */
  direct(lane: Lane, mints: readonly string[]): Promise<Map<string, MintResult<Fetched>>>;
}

/**
 * Every upstream call goes through here: the circuit breaker, the fleet's budget (hot first),
 * the lane's current timeout, retries with backoff and jitter for timeouts, 5xx and refused
 * connections, and a fallback call for a mint the batch answer left out.
 */
export function createPairsGateway(deps: GatewayDeps): PairsGateway {
  // Every call in flight listens on the process's signal (one listener, removed when it ends), so
  // more than Node's default 10 at once is a busy worker, not a leak: without this each worker
  // printed a MaxListenersExceededWarning under load.
  if (deps.signal) setMaxListeners(0, deps.signal);
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { breaker, budget } = deps;

  /** The earliest urgentAt of a call's mints (undefined if none has one). */
  function urgentAtOf(mints: readonly string[]): number | undefined {
    let at: number | undefined;
    for (const m of mints) {
      const u = deps.urgentAt?.(m);
      if (u !== undefined && (at === undefined || u < at)) at = u;
    }
    return at;
  }

  /**
   * A breaker permit, then a budget permit within the allowed wait (as the lane takesAs for the
   * call's mints); throws a delay error otherwise.
   */
  async function permit(
    lane: Lane,
    mints: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const p = breaker.permit();
    if (!p.allowed) throw new UpstreamCircuitOpenError(p.retryInMs);
    if (!budget) return;
    const deadline = now() + deps.settings().maxWaitMs;
    const urgentAt = urgentAtOf(mints);
    const headStart = deps.firstHeadStartMs?.(lane, mints) ?? 0;
    // past its start-by, the call asks first (the same id each time): the others leave it the next token
    let first: string | undefined;
    // a call kept first that stops asking leaves the first set (else it holds the others back until its wait is over)
    const giveUp = async (waitMs: number): Promise<never> => {
      breaker.cancel();
      if (first !== undefined) await budget.release(first).catch(() => undefined);
      throw new UpstreamBudgetExhaustedError(waitMs);
    };
    for (;;) {
      // aborted while it waited (the process stops, or a hedged call's twin answered): no permit
      if (signal?.aborted) return giveUp(0);
      const at = now();
      const as = takesAs(lane, urgentAt, at);
      if (first === undefined && asksFirst(urgentAt, at)) first = randomUUID();
      const t = await budget.take(as, first, first === undefined ? 0 : headStart);
      if (t.granted) return;
      // its start-by came while it asked: ask again at once, first (and as hot for cold)
      if (first === undefined && asksFirst(urgentAt, now())) continue;
      let waitMs = permitWaitMs(urgentAt, now(), t.waitMs);
      deps.onBudgetWait?.(lane, waitMs);
      if (signal?.aborted) return giveUp(waitMs);
      if (now() + waitMs > deadline) {
        // A late call in line is told a token per call ahead of it: it keeps its place and asks
        // again at its own deadline (the calls ahead may go or give up meanwhile), as a late call
        // that lost the race for each token did before they were served in order; others give up now.
        if (!t.queued || now() >= deadline) return giveUp(waitMs);
        waitMs = deadline - now();
      }
      await sleep(waitMs, undefined, signal ? { signal } : {}).catch(() => undefined);
    }
  }

  /**
   * One call with its permits, timeout and retries. `cancel` aborts it without counting against
   * the upstream (a hedged call whose twin answered first); `sent` is told when its first request
   * goes out, past the permits. It stops when the process's signal or `cancel` aborts.
   */
  async function call<T>(
    lane: Lane,
    kind: "batch" | "fallback",
    mints: readonly string[],
    go: (o: CallOptions) => Promise<T>,
    cancel?: AbortSignal,
    sent?: () => void,
  ): Promise<T> {
    const either = eitherSignal(deps.signal, cancel);
    try {
      return await attempts(lane, kind, mints, go, either.signal, cancel, sent);
    } finally {
      either.unlink();
    }
  }

  async function attempts<T>(
    lane: Lane,
    kind: "batch" | "fallback",
    mints: readonly string[],
    go: (o: CallOptions) => Promise<T>,
    signal: AbortSignal | undefined,
    cancel: AbortSignal | undefined,
    sent: (() => void) | undefined,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (cancel?.aborted) throw cancel.reason;
      await permit(lane, mints, signal);
      if (attempt === 0) sent?.();
      const started = performance.now();
      try {
        // The lane's timeout as it is when the call runs out, not when it began.
        const out = await go({
          timeoutMs: () => deps.timeoutFor(lane),
          overrun: deps.onOverrun && ((ms) => deps.onOverrun!(lane, ms)),
          signal,
        });
        breaker.onSuccess();
        deps.onCall?.(lane, performance.now() - started, "ok", kind);
        return out;
      } catch (err) {
        const ms = performance.now() - started;
        if (signal?.aborted) {
          breaker.cancel();
          throw err;
        }
        if (err instanceof UpstreamRateLimitedError) {
          // The upstream is up, only strict: not a breaker failure. Pause the whole fleet.
          breaker.onSuccess();
          deps.onCall?.(lane, ms, "rate_limited", kind);
          if (!budget) throw err;
          // Retry-After comes from outside: the budget cuts it to UPSTREAM_MAX_PAUSE_MS.
          const penalty = await budget.penalty(err.retryAfterMs);
          if (!penalty.capped) throw err;
          deps.onPauseCapped?.(lane, err.retryAfterMs, penalty.pausedForMs);
          throw new UpstreamRateLimitedError(penalty.pausedForMs, { cause: err });
        }
        if (err instanceof UpstreamSchemaError) {
          breaker.onSuccess();
          deps.onCall?.(lane, ms, "error", kind);
          throw err;
        }
        breaker.onFailure();
        // A timed-out call ran to its timeout at least (its timer may fire up to a millisecond
        // early): told less, the lane would take it for one cut under an older, lower timeout.
        if (err instanceof UpstreamTimeoutError)
          deps.onCall?.(lane, Math.max(ms, err.timeoutMs), "timeout", kind);
        else deps.onCall?.(lane, ms, "error", kind);
        const retryable = err instanceof UpstreamError ? err.retryable : true;
        if (!retryable || attempt >= deps.settings().retries) throw err;
        await sleep(backoffMs(attempt, 200, 5_000, random), undefined, signal ? { signal } : {}).catch(
          () => undefined,
        );
      }
    }
  }

  /**
   * A batch call, hedged when hedgeAfterMs says so: if the call has not answered that long after it
   * went out (and hedgeWanted still says so), an identical one goes beside it; the first answer
   * wins and the other is aborted. It fails only when both failed, with the first call's error.
   */
  function hedgedCall<T>(
    lane: Lane,
    mints: readonly string[],
    go: (o: CallOptions) => Promise<T>,
  ): Promise<T> {
    const after = deps.hedgeAfterMs?.(lane, mints) ?? null;
    if (after === null) return call(lane, "batch", mints, go);
    return new Promise<T>((resolve, reject) => {
      const first = new AbortController();
      const second = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      let hedged = false;
      let settled = false;
      let running = 1;
      let firstError: unknown = null;
      const won = (value: T, twin: AbortController, hedge: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        twin.abort(new Error("the hedged call's twin answered first"));
        if (hedged) deps.onHedge?.(lane, hedge ? "won" : "lost");
        resolve(value);
      };
      const failed = (err: unknown, hedge: boolean) => {
        if (!hedge) firstError = err;
        running -= 1;
        if (settled || running > 0) return;
        // both failed, or the first before its hedge went out (none will now)
        clearTimeout(timer);
        settled = true;
        const reason = firstError ?? err;
        reject(reason instanceof Error ? reason : new Error(String(reason)));
      };
      const hedge = async () => {
        if (settled || deps.signal?.aborted) return;
        // a failed check sends none: the call goes on as an unhedged one would
        const wanted = await Promise.resolve(deps.hedgeWanted?.(lane, mints) ?? true).catch(() => false);
        if (!wanted || settled || deps.signal?.aborted) return;
        hedged = true;
        running += 1;
        deps.onHedge?.(lane, "sent");
        call(lane, "batch", mints, go, second.signal).then(
          (v) => won(v, first, true),
          (e: unknown) => failed(e, true),
        );
      };
      call(lane, "batch", mints, go, first.signal, () => {
        timer = setTimeout(() => void hedge(), Math.max(0, after));
      }).then(
        (v) => won(v, second, false),
        (e: unknown) => failed(e, false),
      );
    });
  }

  /** Drops (and reports) the pairs that failed validation; a mint left with only those fails alone. */
  function sortAnswer(
    lane: Lane,
    kind: "batch" | "fallback",
    mints: readonly string[],
    answer: PairsAnswer,
  ): { byMint: Map<string, Pair[]>; rejectedMints: Map<string, UpstreamPairsRejectedError> } {
    const byMint = new Map<string, Pair[]>(mints.map((m) => [m, []]));
    for (const p of answer.pairs) byMint.get(p.baseToken.address)?.push(p);
    const rejectedMints = new Map<string, UpstreamPairsRejectedError>();
    if (answer.rejected.length === 0) return { byMint, rejectedMints };
    deps.onPairsRejected?.(lane, kind, answer.rejected);
    const fields = new Map<string, string[]>();
    for (const r of answer.rejected)
      if (r.mint !== null && byMint.has(r.mint)) fields.set(r.mint, [...(fields.get(r.mint) ?? []), r.field]);
    for (const [mint, f] of fields)
      if (byMint.get(mint)?.length === 0) rejectedMints.set(mint, new UpstreamPairsRejectedError(mint, f));
    return { byMint, rejectedMints };
  }

  /** A fallback permit from the fleet's fallback budget, without waiting: fallbacks are optional. */
  async function fallbackPermit(): Promise<UpstreamFallbackDeferredError | null> {
    if (!deps.fallbackBudget) return null;
    const t = await deps.fallbackBudget.take("hot");
    return t.granted ? null : new UpstreamFallbackDeferredError(t.waitMs);
  }

  async function fetchGroup(lane: Lane, mints: readonly string[]): Promise<Map<string, MintResult<Fetched>>> {
    const out = new Map<string, MintResult<Fetched>>();
    let answer: PairsAnswer;
    try {
      answer = await hedgedCall(lane, mints, async (o) => {
        const a = await deps.client.fetchPairs(mints, o);
        const unreadable = unreadableAnswer(mints, a);
        if (unreadable) throw unreadable;
        // Thrown inside the call, so it counts toward the breaker (and is retried) as a 5xx is.
        if (deps.hadPairs && isEmptyAnswerFault(mints, a, deps.hadPairs))
          throw new UpstreamEmptyAnswerError(mints.filter(deps.hadPairs).length);
        return a;
      });
    } catch (error) {
      for (const m of mints) out.set(m, { ok: false, error });
      return out;
    }
    const at = now();
    const { byMint, rejectedMints } = sortAnswer(lane, "batch", mints, answer);
    const missing: string[] = [];
    for (const [mint, list] of byMint) {
      const rejected = rejectedMints.get(mint);
      if (rejected) out.set(mint, { ok: false, error: rejected });
      else if (list.length === 0 && deps.wantsFallback?.(mint)) missing.push(mint);
      else out.set(mint, { ok: true, value: { pairs: list, fetchedAt: at } });
    }
    // The batch endpoint can leave out minor pools; one look at all of a token's pools first,
    // within the fleet's fallback budget.
    for (const mint of missing) {
      try {
        const deferred = await fallbackPermit();
        if (deferred) {
          // A mint that had pairs keeps its last snapshot for now; one that had none (never
          // scored) loses nothing by taking the empty answer as it is.
          const hadNone = deps.hadPairs?.(mint) === false;
          out.set(
            mint,
            hadNone ? { ok: true, value: { pairs: [], fetchedAt: at } } : { ok: false, error: deferred },
          );
          continue;
        }
        const own = await call(lane, "fallback", [mint], async (o) => {
          const a = await deps.client.fetchTokenPairs(mint, o);
          const unreadable = unreadableAnswer([mint], a);
          if (unreadable) throw unreadable;
          return a;
        });
        const sorted = sortAnswer(lane, "fallback", [mint], own);
        const rejected = sorted.rejectedMints.get(mint);
        out.set(
          mint,
          rejected
            ? { ok: false, error: rejected }
            : { ok: true, value: { pairs: sorted.byMint.get(mint) ?? [], fetchedAt: now() } },
        );
      } catch (error) {
        out.set(mint, { ok: false, error });
      }
    }
    return out;
  }

  const coalescers = {
    hot: new Coalescer<Fetched>(
      () => deps.settings().coalesceMs,
      MINTS_PER_CALL,
      (m) => fetchGroup("hot", m),
    ),
    cold: new Coalescer<Fetched>(
      () => deps.settings().coalesceMs,
      MINTS_PER_CALL,
      (m) => fetchGroup("cold", m),
    ),
  };

  return {
    request: (lane, mints) => coalescers[lane].request(mints),
    direct: (lane, mints) => fetchGroup(lane, mints),
  };
}
