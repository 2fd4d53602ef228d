import type { Pair } from "@moonfleet/scoring";
import {
  MAX_MINTS_PER_CALL,
  UpstreamError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
  type UpstreamClient,
} from "@moonfleet/upstream";
import type { CallOutcome } from "./lane-controller.js";

export interface Fetched {
  readonly pairs: readonly Pair[];
  readonly fetchedAt: number;
}

export interface FetchOutcome {
  /** Pairs per mint that the upstream answered (possibly none), with when the answer arrived. */
  readonly fetched: Map<string, Fetched>;
  /** Mints whose call failed, with the error. */
  readonly failed: Map<string, UpstreamError>;
  readonly calls: number;
}

export interface FetchPlan {
  /** Mints per upstream call. */
  readonly perCall: number;
  /** Calls of one batch in flight at once. */
  readonly parallel: number;
  readonly timeoutMs: number;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Groups an answer's pairs by the mint they belong to (their base token). */
function byMint(
  mints: readonly string[],
  pairs: readonly Pair[],
  fetchedAt: number,
  into: Map<string, Fetched>,
) {
  const groups = new Map<string, Pair[]>(mints.map((m) => [m, []]));
  for (const p of pairs) groups.get(p.baseToken.address)?.push(p);
  for (const [mint, list] of groups) into.set(mint, { pairs: list, fetchedAt });
}

/**
 * Fetches the pairs of `mints` in calls of `plan.perCall` with at most `plan.parallel` in flight.
 * A failed call fails only its own mints; an abort (shutdown) fails the ones not yet fetched.
 */
export async function fetchPairs(
  upstream: UpstreamClient,
  mints: readonly string[],
  plan: FetchPlan,
  now: () => number,
  signal?: AbortSignal,
  onCall?: (ms: number, outcome: CallOutcome) => void,
): Promise<FetchOutcome> {
  const fetched = new Map<string, Fetched>();
  const failed = new Map<string, UpstreamError>();
  const groups = chunk(mints, Math.min(plan.perCall, MAX_MINTS_PER_CALL));
  let next = 0;
  let calls = 0;
  const lane = async () => {
    while (next < groups.length) {
      const group = groups[next++]!;
      if (signal?.aborted) {
        for (const m of group) failed.set(m, new UpstreamError("aborted: worker is stopping"));
        continue;
      }
      calls++;
      const started = performance.now();
      try {
        const pairs = await upstream.fetchPairs(group, { timeoutMs: plan.timeoutMs, signal });
        onCall?.(performance.now() - started, "ok");
        byMint(group, pairs, now(), fetched);
      } catch (err) {
        const e = err instanceof UpstreamError ? err : new UpstreamError(String(err), { cause: err });
        if (!signal?.aborted)
          onCall?.(
            performance.now() - started,
            e instanceof UpstreamTimeoutError
              ? "timeout"
              : e instanceof UpstreamRateLimitedError
                ? "rate_limited"
                : "error",
          );
        for (const m of group) failed.set(m, e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(plan.parallel, groups.length)) }, lane));
  return { fetched, failed, calls };
}
