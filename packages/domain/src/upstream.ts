import { z } from "zod";

/** DexScreener's batch endpoint answers at most this many mints per call. */
export const MINTS_PER_CALL = 30;

/** A circuit breaker's state. */
export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export const breakerStateSchema = z.enum(BREAKER_STATES);
export type BreakerState = z.infer<typeof breakerStateSchema>;
