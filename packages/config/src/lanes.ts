import type { Config } from "./config.js";

export type LaneName = "hot" | "cold";

/** Legacy fixed values: the rollback path and the benchmark baseline. */
export const LEGACY = { batchSize: { hot: 35, cold: 70 }, timeoutMs: 5_000, concurrency: 1 } as const;

export const ttlMs = (c: Config, lane: LaneName): number =>
  (lane === "hot" ? c.cacheTtlHot : c.cacheTtlCold) * 1000;

/** The upstream timeout a lane uses before the adaptive controller has data. */
export function baseTimeoutMs(c: Config, lane: LaneName): number {
  if (!c.enableSchedulerOptimization) return LEGACY.timeoutMs;
  return (lane === "hot" ? c.timeoutHot : c.timeoutCold) * 1000;
}

/** Jobs of a lane one worker process runs at once (fixed until the adaptive controller takes over). */
export function laneConcurrency(c: Config, lane: LaneName): number {
  if (!c.enableSchedulerOptimization || !c.enableParallelProcessing) return LEGACY.concurrency;
  return lane === "hot" ? c.maxConcurrentHot : c.maxConcurrentCold;
}

export function batchSize(_c: Config, lane: LaneName): number {
  return LEGACY.batchSize[lane];
}
