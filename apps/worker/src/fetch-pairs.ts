import { MINTS_PER_CALL, type Lane } from "@moonfleet/domain";
import type { FetchMode } from "@moonfleet/config";
import type { Fetched, MintResult, PairsGateway } from "@moonfleet/upstream";
import { UpstreamError } from "@moonfleet/upstream";

export type { Fetched };

export interface FetchOutcome {
  /** Pairs per mint that the upstream answered (possibly none), with when the answer arrived. */
  readonly fetched: Map<string, Fetched>;
  /** Mints whose call failed, with the error. */
  readonly failed: Map<string, UpstreamError>;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const asUpstreamError = (e: unknown) =>
  e instanceof UpstreamError
    ? e
    : new UpstreamError(e instanceof Error ? e.message : String(e), { cause: e });

/** Fetches the pairs of a batch's mints through the gateway; a failed call fails only its own mints. */
export async function fetchBatch(
  gateway: PairsGateway,
  lane: Lane,
  mints: readonly string[],
  mode: FetchMode,
): Promise<FetchOutcome> {
  const fetched = new Map<string, Fetched>();
  const failed = new Map<string, UpstreamError>();
  const take = (results: Map<string, MintResult<Fetched>>) => {
    for (const [mint, r] of results) {
      if (r.ok) fetched.set(mint, r.value);
      else failed.set(mint, asUpstreamError(r.error));
    }
  };
  if (mode === "coalesced") take(await gateway.request(lane, mints));
  else
    for (const group of chunk(mints, mode === "legacy" ? 1 : MINTS_PER_CALL))
      take(await gateway.direct(lane, group));
  return { fetched, failed };
}
