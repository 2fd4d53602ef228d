import type { Lane } from "@moonfleet/domain";
import type { Config } from "./config.js";

/** Legacy fixed values: the rollback path and the benchmark baseline. */
export const LEGACY = { batchSize: { hot: 35, cold: 70 }, timeoutMs: 5_000, concurrency: 1 } as const;

export const ttlMs = (c: Config, lane: Lane): number =>
  (lane === "hot" ? c.cacheTtlHot : c.cacheTtlCold) * 1000;

/** The upstream timeout a lane uses before the adaptive controller has data. */
export function baseTimeoutMs(c: Config, lane: Lane): number {
  if (!c.enableSchedulerOptimization) return LEGACY.timeoutMs;
  return (lane === "hot" ? c.timeoutHot : c.timeoutCold) * 1000;
}
