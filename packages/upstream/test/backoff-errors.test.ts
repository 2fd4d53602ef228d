import { describe, expect, it } from "vitest";
import { backoffMs } from "../src/backoff.js";
import { asksFirst, permitWaitMs, takesAs } from "../src/rate-budget.js";
import {
  UpstreamBudgetExhaustedError,
  UpstreamCircuitOpenError,
  UpstreamConnectionError,
  UpstreamError,
  UpstreamHttpError,
  UpstreamRateLimitedError,
  UpstreamSchemaError,
  UpstreamTimeoutError,
  delayOf,
} from "../src/errors.js";

describe("backoffMs", () => {
  it("stays within [0, min(cap, base * 2^attempt)]", () => {
    const randoms = [0, 0.25, 0.5, 0.999999];
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(5_000, 200 * 2 ** attempt);
      for (const r of randoms) {
        const ms = backoffMs(attempt, 200, 5_000, () => r);
        expect(ms).toBeGreaterThanOrEqual(0);
        expect(ms).toBeLessThanOrEqual(ceiling);
      }
      expect(backoffMs(attempt, 200, 5_000, () => 1)).toBe(ceiling);
    }
  });

  it("grows with the attempt until the cap", () => {
    const half = () => 0.5;
    const waits = [0, 1, 2, 3, 4, 5, 6].map((a) => backoffMs(a, 200, 5_000, half));
    expect(waits).toEqual([100, 200, 400, 800, 1_600, 2_500, 2_500]);
  });

  it("is full jitter: a random of 0 waits nothing", () => {
    expect(backoffMs(7, 200, 5_000, () => 0)).toBe(0);
  });

  it("is never negative, not even for a negative attempt", () => {
    expect(backoffMs(-3, 200, 5_000, () => 0.5)).toBe(100);
    expect(backoffMs(-1, 200, 5_000, () => 1)).toBe(200);
  });

  it("uses Math.random by default and stays within bounds", () => {
    for (let i = 0; i < 200; i++) {
      const ms = backoffMs(3);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThanOrEqual(1_600);
    }
  });
});

describe("delayOf", () => {
  it("delays a rate-limited call by Retry-After", () => {
    expect(delayOf(new UpstreamRateLimitedError(7_000))).toBe(7_000);
  });

  it("delays a call refused by the open breaker until the next trial", () => {
    expect(delayOf(new UpstreamCircuitOpenError(42_000))).toBe(42_000);
  });

  it("delays a call that found no budget until the next permit", () => {
    expect(delayOf(new UpstreamBudgetExhaustedError(350))).toBe(350);
  });

  it("does not delay real failures", () => {
    expect(delayOf(new UpstreamTimeoutError(400))).toBeNull();
    expect(delayOf(new UpstreamHttpError(503))).toBeNull();
    expect(delayOf(new UpstreamHttpError(404))).toBeNull();
    expect(delayOf(new UpstreamConnectionError("ECONNREFUSED"))).toBeNull();
    expect(delayOf(new UpstreamSchemaError("dexId: expected string"))).toBeNull();
    expect(delayOf(new Error("plain"))).toBeNull();
    expect(delayOf("not an error")).toBeNull();
  });
});

describe("upstream errors", () => {
  it("tell retryable failures from permanent ones", () => {
    expect(new UpstreamTimeoutError(400).retryable).toBe(true);
    expect(new UpstreamHttpError(500).retryable).toBe(true);
    expect(new UpstreamHttpError(503).retryable).toBe(true);
    expect(new UpstreamHttpError(404).retryable).toBe(false);
    expect(new UpstreamConnectionError("reset").retryable).toBe(true);
    expect(new UpstreamSchemaError("bad").retryable).toBe(false);
  });

  it("are named UpstreamErrors that say what happened", () => {
    const errors = [
      new UpstreamTimeoutError(400),
      new UpstreamRateLimitedError(1_000),
      new UpstreamHttpError(502),
      new UpstreamConnectionError("socket hang up"),
      new UpstreamSchemaError("0.dexId: expected string"),
      new UpstreamCircuitOpenError(5_000),
      new UpstreamBudgetExhaustedError(250),
    ];
    expect(errors.map((e) => e.name)).toEqual([
      "UpstreamTimeoutError",
      "UpstreamRateLimitedError",
      "UpstreamHttpError",
      "UpstreamConnectionError",
      "UpstreamSchemaError",
      "UpstreamCircuitOpenError",
      "UpstreamBudgetExhaustedError",
    ]);
    expect(errors.every((e) => e instanceof UpstreamError)).toBe(true);
    expect(errors[0]!.message).toContain("400 ms");
    expect(errors[2]!.message).toContain("502");
    expect(errors[4]!.message).toContain("0.dexId");
  });
});

describe("takesAs", () => {
  it("takes the budget as the lane does, but a cold call past its job's urgentAt as hot", () => {
    expect(takesAs("hot", undefined, 1_000)).toBe("hot");
    expect(takesAs("cold", undefined, 1_000)).toBe("cold");
    expect(takesAs("cold", 1_001, 1_000)).toBe("cold");
    expect(takesAs("cold", 1_000, 1_000)).toBe("hot");
    expect(takesAs("cold", 500, 1_000)).toBe("hot");
    expect(takesAs("hot", 5_000, 1_000)).toBe("hot");
  });
});

describe("asksFirst", () => {
  it("asks the budget first from its start-by on, in either lane", () => {
    expect(asksFirst(undefined, 1_000)).toBe(false);
    expect(asksFirst(1_001, 1_000)).toBe(false);
    expect(asksFirst(1_000, 1_000)).toBe(true);
    expect(asksFirst(500, 1_000)).toBe(true);
  });
});

describe("permitWaitMs", () => {
  it("waits what the budget said, but a call asks again at its start-by, when it asks first (a cold one as hot)", () => {
    // start-by in 800 ms, the budget says 3.2 s: ask again, first (as hot for cold), in 800 ms
    expect(permitWaitMs(1_800, 1_000, 3_200)).toBe(800);
    // the budget's own wait is shorter
    expect(permitWaitMs(1_800, 1_000, 300)).toBe(300);
    // already past its start-by (it asked first), or no start-by: the budget's wait
    expect(permitWaitMs(900, 1_000, 3_200)).toBe(3_200);
    expect(permitWaitMs(undefined, 1_000, 3_200)).toBe(3_200);
    // never a busy loop
    expect(permitWaitMs(1_000.4, 1_000, 3_200)).toBe(1);
  });
});
