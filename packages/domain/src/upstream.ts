import { z } from "zod";

/** DexScreener's batch endpoint answers at most this many mints per call. */
export const MINTS_PER_CALL = 30;

/** A worker's most open keep-alive connections to the upstream (UPSTREAM_CONNECTIONS's default). */
export const DEFAULT_UPSTREAM_CONNECTIONS = 16;

/** A circuit breaker's state. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export const breakerStateSchema = z.enum(BREAKER_STATES);
export type BreakerState = z.infer<typeof breakerStateSchema>;

/**
 * What a worker's calls found when they asked its connection pool for a connection since the last
 * reading: how many calls were already waiting for one, summed over the calls. Counted as each
 * call starts, so its mean is roughly the pool's queue (calls come in bursts, so not exactly the
 * time average): past the connections, more calls in flight only wait.
 */
export interface ConnectionQueue {
  /** Calls started. */
  readonly calls: number;
  /** Calls they found waiting for a connection, summed over the calls. */
  readonly waitingSum: number;
  /** The pool's most open connections. */
  readonly connections: number;
}
