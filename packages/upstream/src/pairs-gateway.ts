import { setTimeout as sleep } from "node:timers/promises";
import type { Pair } from "@moonfleet/scoring";
import { backoffMs } from "./backoff.js";
import type { CircuitBreaker } from "./circuit-breaker.js";
import type { CallOptions, UpstreamClient } from "./client.js";
import { MAX_MINTS_PER_CALL } from "./client.js";
import { Coalescer, type MintResult } from "./coalescer.js";
import {
  UpstreamBudgetExhaustedError,
  UpstreamCircuitOpenError,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
} from "./errors.js";
import type { RateBudget } from "./rate-budget.js";

type Lane = "hot" | "cold";
export type CallOutcome = "ok" | "timeout" | "error" | "rate_limited";

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
  readonly onCall?: (lane: Lane, ms: number, outcome: CallOutcome, kind: "batch" | "fallback") => void;
  /** A call had to wait for the budget (or gave up waiting). */
  readonly onBudgetWait?: (lane: Lane, waitMs: number) => void;
  readonly now?: () => number;
  readonly random?: () => number;
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
  const now = deps.now ?? Date.now;
  const random = deps.random ?? Math.random;
  const { breaker, budget } = deps;

  /** A breaker permit, then a budget permit within the allowed wait; throws a delay error otherwise. */
  async function permit(lane: Lane): Promise<void> {
    const p = breaker.permit();
    if (!p.allowed) throw new UpstreamCircuitOpenError(p.retryInMs);
    if (!budget) return;
    const deadline = now() + deps.settings().maxWaitMs;
    for (;;) {
      const t = await budget.take(lane);
      if (t.granted) return;
      deps.onBudgetWait?.(lane, t.waitMs);
      if (now() + t.waitMs > deadline || deps.signal?.aborted) {
        breaker.cancel();
        throw new UpstreamBudgetExhaustedError(t.waitMs);
      }
      await sleep(t.waitMs, undefined, deps.signal ? { signal: deps.signal } : {}).catch(() => undefined);
    }
  }

  async function call<T>(
    lane: Lane,
    kind: "batch" | "fallback",
    go: (o: CallOptions) => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      await permit(lane);
      const started = performance.now();
      try {
        const out = await go({ timeoutMs: deps.timeoutFor(lane), signal: deps.signal });
        breaker.onSuccess();
        deps.onCall?.(lane, performance.now() - started, "ok", kind);
        return out;
      } catch (err) {
        const ms = performance.now() - started;
        if (deps.signal?.aborted) {
          breaker.cancel();
          throw err;
        }
        if (err instanceof UpstreamRateLimitedError) {
          // The upstream is up, only strict: not a breaker failure. Pause the whole fleet.
          breaker.onSuccess();
          deps.onCall?.(lane, ms, "rate_limited", kind);
          await budget?.penalize(err.retryAfterMs);
          throw err;
        }
        if (err instanceof UpstreamSchemaError) {
          breaker.onSuccess();
          deps.onCall?.(lane, ms, "error", kind);
          throw err;
        }
        breaker.onFailure();
        deps.onCall?.(lane, ms, err instanceof UpstreamTimeoutError ? "timeout" : "error", kind);
        const retryable = err instanceof UpstreamError ? err.retryable : true;
        if (!retryable || attempt >= deps.settings().retries) throw err;
        await sleep(
          backoffMs(attempt, 200, 5_000, random),
          undefined,
          deps.signal ? { signal: deps.signal } : {},
        ).catch(() => undefined);
      }
    }
  }

  async function fetchGroup(lane: Lane, mints: readonly string[]): Promise<Map<string, MintResult<Fetched>>> {
    const out = new Map<string, MintResult<Fetched>>();
    let pairs: Pair[];
    try {
      pairs = await call(lane, "batch", (o) => deps.client.fetchPairs(mints, o));
    } catch (error) {
      for (const m of mints) out.set(m, { ok: false, error });
      return out;
    }
    const at = now();
    const byMint = new Map<string, Pair[]>(mints.map((m) => [m, []]));
    for (const p of pairs) byMint.get(p.baseToken.address)?.push(p);
    const missing: string[] = [];
    for (const [mint, list] of byMint) {
      if (list.length === 0 && deps.wantsFallback?.(mint)) missing.push(mint);
      else out.set(mint, { ok: true, value: { pairs: list, fetchedAt: at } });
    }
    // The batch endpoint can leave out minor pools; one look at all of a token's pools first.
    for (const mint of missing) {
      try {
        const own = await call(lane, "fallback", (o) => deps.client.fetchTokenPairs(mint, o));
        out.set(mint, {
          ok: true,
          value: { pairs: own.filter((p) => p.baseToken.address === mint), fetchedAt: now() },
        });
      } catch (error) {
        out.set(mint, { ok: false, error });
      }
    }
    return out;
  }

  const coalescers = {
    hot: new Coalescer<Fetched>(
      () => deps.settings().coalesceMs,
      MAX_MINTS_PER_CALL,
      (m) => fetchGroup("hot", m),
    ),
    cold: new Coalescer<Fetched>(
      () => deps.settings().coalesceMs,
      MAX_MINTS_PER_CALL,
      (m) => fetchGroup("cold", m),
    ),
  };

  return {
    request: (lane, mints) => coalescers[lane].request(mints),
    direct: (lane, mints) => fetchGroup(lane, mints),
  };
}
