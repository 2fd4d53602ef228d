import { describe, expect, it } from "vitest";
import { lanePolicies, lanePolicy, loadConfig, startTimeoutMs } from "../src/index.js";

const HIGH = { machine: { cpus: 8, memoryBytes: 16 * 1024 ** 3 } };
const config = (env: Record<string, string> = {}) => loadConfig(env, HIGH);

describe("lanePolicy", () => {
  it("runs the legacy path with optimization off, whatever the other flags say", () => {
    const c = config({ ENABLE_SCHEDULER_OPTIMIZATION: "false", ENABLE_ADAPTIVE_CONCURRENCY: "true" });
    expect(lanePolicy(c, "hot")).toEqual({
      kind: "legacy",
      lane: "hot",
      concurrency: { kind: "single" },
      batch: { kind: "fixed", size: 35 },
      timeout: { kind: "fixed", ms: 5_000 },
      fetch: "legacy",
      mintsPerCall: 1,
    });
    expect(lanePolicy(c, "cold").batch).toEqual({ kind: "fixed", size: 70 });
  });

  it("adapts every aspect by default, within each lane's bounds", () => {
    const c = config({
      MAX_CONCURRENT_HOT: "7",
      MAX_CONCURRENT_COLD: "9",
      MAX_CONCURRENT_UNDER_LOAD: "3",
      MIN_BATCH_SIZE: "10",
      MAX_BATCH_SIZE: "120",
      TIMEOUT_HOT: "2.5",
      TIMEOUT_COLD: "2",
      TIMEOUT_UNDER_LOAD: "1.5",
    });
    expect(lanePolicy(c, "hot")).toEqual({
      kind: "optimized",
      lane: "hot",
      concurrency: { kind: "adaptive", max: 7, underLoad: 3 },
      // A job carries at least one full call of 30 mints.
      batch: { kind: "adaptive", min: 30, max: 120, start: 35 },
      timeout: { kind: "dynamic", baseMs: 2_500, underLoadMs: 1_500 },
      fetch: "coalesced",
      mintsPerCall: 30,
    });
    expect(lanePolicy(c, "cold").concurrency).toEqual({ kind: "adaptive", max: 9, underLoad: 3 });
    expect(lanePolicy(c, "cold").timeout).toEqual({ kind: "dynamic", baseMs: 2_000, underLoadMs: 1_500 });
  });

  it("switches one aspect per flag", () => {
    const noParallel = lanePolicy(config({ ENABLE_PARALLEL_PROCESSING: "false" }), "hot");
    expect(noParallel.concurrency).toEqual({ kind: "single" });
    expect(noParallel.fetch).toBe("sequential");
    expect(noParallel.mintsPerCall).toBe(30);

    const fixed = lanePolicy(
      config({ ENABLE_ADAPTIVE_CONCURRENCY: "false", MAX_CONCURRENT_COLD: "5" }),
      "cold",
    );
    expect(fixed.concurrency).toEqual({ kind: "fixed", max: 5 });
    expect(fixed.fetch).toBe("coalesced");

    const fixedBatches = lanePolicy(config({ ENABLE_ADAPTIVE_BATCHING: "false" }), "cold");
    expect(fixedBatches.batch).toEqual({ kind: "fixed", size: 70 });

    const fixedTimeouts = lanePolicy(config({ ENABLE_DYNAMIC_TIMEOUTS: "false", TIMEOUT_COLD: "4" }), "cold");
    expect(fixedTimeouts.timeout).toEqual({ kind: "fixed", ms: 4_000 });
    expect(startTimeoutMs(fixedTimeouts.timeout)).toBe(4_000);
  });

  it("lets MIN_BATCH_SIZE under one call apply only when MAX_BATCH_SIZE is smaller still", () => {
    expect(lanePolicy(config({ MIN_BATCH_SIZE: "40" }), "hot").batch).toMatchObject({ min: 40 });
    expect(lanePolicy(config({ MIN_BATCH_SIZE: "5", MAX_BATCH_SIZE: "20" }), "hot").batch).toMatchObject({
      min: 20,
      max: 20,
    });
  });

  it("computes both lanes once per config object", () => {
    const c = config();
    expect(lanePolicies(c)).toBe(lanePolicies(c));
    expect(lanePolicies(c).hot).toEqual(lanePolicy(c, "hot"));
    expect(lanePolicies(config({ MAX_CONCURRENT_HOT: "3" })).hot.concurrency).toMatchObject({ max: 3 });
  });
});
