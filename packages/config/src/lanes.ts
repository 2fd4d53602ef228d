import type { Lane } from "@moonfleet/domain";
import type { Config } from "./config.js";

/** Legacy fixed values: the rollback path and the benchmark baseline. */
export const LEGACY = { batchSize: { hot: 35, cold: 70 }, timeoutMs: 5_000, concurrency: 1 } as const;

export const ttlMs = (c: Config, lane: Lane): number =>
  (lane === "hot" ? c.cacheTtlHot : c.cacheTtlCold) * 1000;
