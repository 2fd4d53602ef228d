import { describe, expect, it } from "vitest";
import {
  UpstreamBudgetExhaustedError,
  UpstreamCircuitOpenError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
} from "@moonfleet/upstream";
import {
  JobDelayedError,
  JobRateLimitedError,
  notNowHoldMs,
  notNowOutcome,
  ownNotNowHoldMs,
} from "../src/job-outcome.js";

describe("notNowOutcome", () => {
  it("is null when no failure said 'not now'", () => {
    expect(notNowOutcome("hot", [])).toBeNull();
    expect(notNowOutcome("hot", [new UpstreamTimeoutError(400), new UpstreamSchemaError("x")])).toBeNull();
  });

  it("delays only this job for this process's open breaker", () => {
    const o = notNowOutcome("cold", [new UpstreamCircuitOpenError(7_000)]);
    expect(o).toBeInstanceOf(JobDelayedError);
    expect(o).toMatchObject({ delayMs: 7_000, why: "circuit_open" });
  });

  it("rate-limits the lane for the fleet's budget, every lane for a 429", () => {
    const budget = notNowOutcome("cold", [new UpstreamBudgetExhaustedError(300)]);
    expect(budget).toBeInstanceOf(JobRateLimitedError);
    expect(budget).toMatchObject({ delayMs: 300, lanes: ["cold"], cause429: false });
    const limited = notNowOutcome("cold", [new UpstreamRateLimitedError(2_000)]);
    expect(limited).toMatchObject({ delayMs: 2_000, lanes: ["hot", "cold"], cause429: true });
  });

  it("takes the widest scope and the longest wait of a mixed batch", () => {
    const o = notNowOutcome("hot", [
      new UpstreamCircuitOpenError(9_000),
      new UpstreamBudgetExhaustedError(100),
      new UpstreamTimeoutError(400),
    ]);
    expect(o).toBeInstanceOf(JobRateLimitedError);
    expect(o).toMatchObject({ delayMs: 9_000, lanes: ["hot"] });
    expect(
      notNowOutcome("hot", [new UpstreamBudgetExhaustedError(100), new UpstreamRateLimitedError(50)]),
    ).toMatchObject({ delayMs: 100, lanes: ["hot", "cold"] });
  });

  it("holds a queue between 100 ms and the recheck interval", () => {
    expect(notNowHoldMs(1)).toBe(100);
    expect(notNowHoldMs(2_500)).toBe(2_500);
    expect(notNowHoldMs(60_000)).toBe(5_000);
  });

  it("holds a job its own breaker refused for a moment while the process takes no jobs, else as asked", () => {
    // paused for the cool-down (breaker-hold.ts): another worker takes it at once
    expect(ownNotNowHoldMs(55_000, true)).toBe(100);
    expect(ownNotNowHoldMs(1, true)).toBe(100);
    // a half-open breaker's trials all out: this process still takes jobs, so the job waits
    expect(ownNotNowHoldMs(1_000, false)).toBe(1_000);
    expect(ownNotNowHoldMs(55_000, false)).toBe(5_000);
  });
});
