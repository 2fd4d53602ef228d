// What the ENABLE_* flags mean, worked out in one place. The producer, the controller, the lane
// controllers and the batch processor read a lane's policy; none of them reads a flag. As in
// Temporal's worker tuner (`fixed-size | resource-based` slot suppliers), each aspect is a
// discriminated union, so a reader switches on `kind` and a new mode is a compile error wherever
// it is not handled.
import { LANES, MINTS_PER_CALL, type Lane } from "@moonfleet/domain";
import type { Config } from "./config.js";
import { LEGACY } from "./lanes.js";

/** How many jobs of the lane one worker process runs at once. */
export type ConcurrencyPolicy =
  /** Legacy, or ENABLE_PARALLEL_PROCESSING=false: one job at a time. */
  | { readonly kind: "single" }
  /** ENABLE_ADAPTIVE_CONCURRENCY=false: always `max`, whatever the load and the upstream. */
  | { readonly kind: "fixed"; readonly max: number }
  /** Between 1 and `max`, at most `underLoad` under high load, decided every tick. */
  | { readonly kind: "adaptive"; readonly max: number; readonly underLoad: number };

/** How many due tokens the producer puts in one job. */
export type BatchPolicy =
  /** Legacy, or ENABLE_ADAPTIVE_BATCHING=false: the lane's legacy size (35 hot, 70 cold). */
  | { readonly kind: "fixed"; readonly size: number }
  /** Within [min, max], starting from the legacy size fitted into them. */
  | { readonly kind: "adaptive"; readonly min: number; readonly max: number; readonly start: number };

/** The lane's upstream timeout. */
export type TimeoutPolicy =
  /** Legacy (5 s), or ENABLE_DYNAMIC_TIMEOUTS=false (TIMEOUT_HOT / TIMEOUT_COLD). */
  | { readonly kind: "fixed"; readonly ms: number }
  /** From observed latency; `baseMs` until there is data, `underLoadMs` under high load. */
  | { readonly kind: "dynamic"; readonly baseMs: number; readonly underLoadMs: number };

/** How a batch is fetched: one mint per call one at a time (legacy), 30 per call in turn, or merged. */
export type FetchMode = "legacy" | "sequential" | "coalesced";

interface PolicyParts {
  readonly lane: Lane;
  readonly concurrency: ConcurrencyPolicy;
  readonly batch: BatchPolicy;
  readonly timeout: TimeoutPolicy;
  readonly fetch: FetchMode;
  /** Mints one upstream call carries: the producer fills its last call up to this. */
  readonly mintsPerCall: number;
}

/** Everything a lane's parts may do under one config. */
export type LanePolicy =
  /** ENABLE_SCHEDULER_OPTIMIZATION=false: the rollback path and the benchmark baseline. */
  | (PolicyParts & {
      readonly kind: "legacy";
      readonly concurrency: { readonly kind: "single" };
      readonly batch: { readonly kind: "fixed"; readonly size: number };
      readonly timeout: { readonly kind: "fixed"; readonly ms: number };
      readonly fetch: "legacy";
    })
  | (PolicyParts & { readonly kind: "optimized"; readonly fetch: "sequential" | "coalesced" });

export type LanePolicies = Readonly<Record<Lane, LanePolicy>>;

/** The lane's policy under `c`; pure, so it is tested from plain configs. */
export function lanePolicy(c: Config, lane: Lane): LanePolicy {
  const legacySize = LEGACY.batchSize[lane];
  if (!c.enableSchedulerOptimization)
    return {
      kind: "legacy",
      lane,
      concurrency: { kind: "single" },
      batch: { kind: "fixed", size: legacySize },
      timeout: { kind: "fixed", ms: LEGACY.timeoutMs },
      fetch: "legacy",
      mintsPerCall: 1,
    };
  const max = lane === "hot" ? c.maxConcurrentHot : c.maxConcurrentCold;
  const concurrency: ConcurrencyPolicy = !c.enableParallelProcessing
    ? { kind: "single" }
    : c.enableAdaptiveConcurrency
      ? { kind: "adaptive", max, underLoad: c.maxConcurrentUnderLoad }
      : { kind: "fixed", max };
  // A job carries at least one full upstream call: the budget counts calls, not mints, so two
  // jobs of 15 spend twice what one of 30 does (measured: hot starved at batch 10 under a
  // binding budget). MIN_BATCH_SIZE below 30 only applies where the budget does not (legacy).
  const batch: BatchPolicy = c.enableAdaptiveBatching
    ? {
        kind: "adaptive",
        min: Math.max(c.minBatchSize, Math.min(MINTS_PER_CALL, c.maxBatchSize)),
        max: c.maxBatchSize,
        start: legacySize,
      }
    : { kind: "fixed", size: legacySize };
  const baseMs = (lane === "hot" ? c.timeoutHot : c.timeoutCold) * 1000;
  const timeout: TimeoutPolicy = c.enableDynamicTimeouts
    ? { kind: "dynamic", baseMs, underLoadMs: c.timeoutUnderLoad * 1000 }
    : { kind: "fixed", ms: baseMs };
  return {
    kind: "optimized",
    lane,
    concurrency,
    batch,
    timeout,
    fetch: c.enableParallelProcessing ? "coalesced" : "sequential",
    mintsPerCall: MINTS_PER_CALL,
  };
}

const computed = new WeakMap<Config, LanePolicies>();

/**
 * Both lanes' policies under `c`, computed once per config object: a runtime change makes a new
 * config, hence new policies, and every reader between two changes shares one.
 */
export function lanePolicies(c: Config): LanePolicies {
  let policies = computed.get(c);
  if (!policies) {
    policies = Object.fromEntries(LANES.map((lane) => [lane, lanePolicy(c, lane)])) as Record<
      Lane,
      LanePolicy
    >;
    computed.set(c, policies);
  }
  return policies;
}

/** The timeout a lane starts from, before the controller has data (and always, when fixed). */
export function startTimeoutMs(p: TimeoutPolicy): number {
  return p.kind === "fixed" ? p.ms : p.baseMs;
}
