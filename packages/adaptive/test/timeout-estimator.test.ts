import { describe, expect, it } from "vitest";
import {
  BUCKET_GROWTH,
  LatencyEstimator,
  TIMEOUT_BURST,
  TIMEOUT_DECLINE,
  TIMEOUT_MAX_MS,
  TIMEOUT_MIN_MS,
  HEDGE_MIN_MS,
  hedgeDelayMs,
  latencyBucket,
  nextBaseline,
  nextTimeout,
} from "../src/timeout-estimator.js";

/** Within one bucket's width of the true value. */
function expectNear(actual: number | null, expected: number): void {
  expect(actual).not.toBeNull();
  expect(actual ?? 0).toBeGreaterThanOrEqual(expected / BUCKET_GROWTH);
  expect(actual ?? 0).toBeLessThanOrEqual(expected * BUCKET_GROWTH);
}

describe("LatencyEstimator", () => {
  it("answers null below the minimum sample count", () => {
    const e = new LatencyEstimator();
    for (let i = 0; i < 19; i++) e.record(100);
    expect(e.percentile(0.5)).toBeNull();
    e.record(100);
    expectNear(e.percentile(0.5), 100);
    expect(e.count()).toBe(20);
  });

  it("estimates percentiles of a uniform distribution within a bucket", () => {
    const e = new LatencyEstimator();
    // 100, 101, ..., 1099 ms: the q-quantile is 100 + 1000 q.
    for (let ms = 100; ms < 1100; ms++) e.record(ms);
    expectNear(e.percentile(0.5), 600);
    expectNear(e.percentile(0.9), 1000);
    expectNear(e.percentile(0.99), 1090);
  });

  it("estimates percentiles of an exponential distribution within a bucket", () => {
    const e = new LatencyEstimator();
    const mean = 300;
    const n = 10_000;
    // Exact quantiles of Exp(1/300), in order, instead of random draws.
    for (let i = 0; i < n; i++) e.record(-mean * Math.log(1 - (i + 0.5) / n));
    for (const q of [0.5, 0.9, 0.95, 0.99]) expectNear(e.percentile(q), -mean * Math.log(1 - q));
  });

  it("puts values outside 1 ms .. 120 s in the end buckets", () => {
    const e = new LatencyEstimator({ minSamples: 1 });
    e.record(0);
    e.record(-5);
    expect(e.percentile(1)).toBeLessThanOrEqual(BUCKET_GROWTH);
    e.reset();
    e.record(10_000_000);
    expect(e.percentile(0.5)).toBeLessThanOrEqual(120_000);
    expect(e.percentile(0.5)).toBeGreaterThan(110_000);
    e.record(Number.NaN);
    expect(e.count()).toBe(1);
  });

  it("forgets old samples as it decays", () => {
    const e = new LatencyEstimator();
    for (let i = 0; i < 100; i++) e.record(200);
    // Ten quiet ticks later the old samples weigh 0.9^10 ~ 0.35 each.
    for (let tick = 0; tick < 10; tick++) e.decay(0.9);
    expect(e.count()).toBeCloseTo(100 * 0.9 ** 10, 6);
    // Twenty ticks of a slower upstream, 20 calls a tick: the estimate follows the upstream now.
    for (let tick = 0; tick < 20; tick++) {
      for (let i = 0; i < 20; i++) e.record(800);
      e.decay(0.9);
    }
    expectNear(e.percentile(0.5), 800);
    // A lane that goes quiet loses its data.
    for (let tick = 0; tick < 60; tick++) e.decay(0.9);
    expect(e.percentile(0.5)).toBeNull();
  });

  it("raises p99 with censored timeouts", () => {
    const e = new LatencyEstimator();
    for (let i = 0; i < 200; i++) e.record(300);
    const before = e.percentile(0.99) ?? 0;
    // A surge: 10% of calls time out at 3 s. Leaving them out would keep p99 at 300 ms.
    for (let i = 0; i < 20; i++) e.recordTimeout(3000);
    expectNear(e.percentile(0.99), 3000);
    expect(e.percentile(0.99) ?? 0).toBeGreaterThan(before * 5);
  });
});

describe("nextBaseline", () => {
  it("starts at the first p50 and moves slowly toward new ones", () => {
    expect(nextBaseline(null, null)).toBeNull();
    expect(nextBaseline(null, 200)).toBe(200);
    expect(nextBaseline(200, null)).toBe(200);
    expect(nextBaseline(200, 400)).toBeCloseTo(210, 9);
    let baseline: number | null = 200;
    for (let i = 0; i < 5; i++) baseline = nextBaseline(baseline, 1000);
    // A surge of a few ticks stays well above twice the baseline, so the gradient sees it.
    expect(baseline).toBeLessThan(500);
  });
});

describe("nextTimeout", () => {
  const base = {
    estimateP99Ms: 1000,
    baseMs: 3000,
    underLoadMs: 1500,
    level: "normal",
    dynamic: true,
  } as const;

  it("uses the base when dynamic timeouts are off, whatever the load", () => {
    expect(nextTimeout({ ...base, dynamic: false })).toEqual({ timeoutMs: 3000, reason: "fixed" });
    expect(nextTimeout({ ...base, dynamic: false, level: "high" })).toEqual({
      timeoutMs: 3000,
      reason: "fixed",
    });
  });

  it("uses the under-load timeout under high load", () => {
    expect(nextTimeout({ ...base, level: "high" })).toEqual({ timeoutMs: 1500, reason: "under_load" });
  });

  it("uses the base without data", () => {
    expect(nextTimeout({ ...base, estimateP99Ms: null })).toEqual({ timeoutMs: 3000, reason: "no_data" });
  });

  it("sets 1.5 x p99 within 1.5 to 5 s", () => {
    expect(nextTimeout(base)).toEqual({ timeoutMs: 1500, reason: "estimate" });
    expect(nextTimeout({ ...base, estimateP99Ms: 2000 })).toEqual({ timeoutMs: 3000, reason: "estimate" });
    expect(nextTimeout({ ...base, level: "reduced", estimateP99Ms: 2000 }).timeoutMs).toBe(3000);
    expect(nextTimeout({ ...base, estimateP99Ms: 10 }).timeoutMs).toBe(TIMEOUT_MIN_MS);
    expect(nextTimeout({ ...base, estimateP99Ms: 60_000 }).timeoutMs).toBe(TIMEOUT_MAX_MS);
    expect([TIMEOUT_MIN_MS, TIMEOUT_MAX_MS]).toEqual([1500, 5000]);
  });
});

describe("nextTimeout on a burst of timeouts", () => {
  const base = {
    estimateP99Ms: 1000,
    baseMs: 3000,
    underLoadMs: 1500,
    level: "normal",
    dynamic: true,
    currentMs: 1500,
  } as const;

  it(`doubles at once when ${TIMEOUT_BURST} or more calls timed out within the tick`, () => {
    expect(TIMEOUT_BURST).toBe(1);
    expect(nextTimeout({ ...base, timeoutsThisTick: 1 })).toEqual({
      timeoutMs: 3000,
      reason: "timeout_burst",
    });
    // Under high load too: the timeouts say the upstream is slow, not only this process.
    expect(nextTimeout({ ...base, level: "high", timeoutsThisTick: 3 })).toEqual({
      timeoutMs: 3000,
      reason: "timeout_burst",
    });
    // The estimate wins when it asks for more.
    expect(nextTimeout({ ...base, estimateP99Ms: 2600, timeoutsThisTick: 2 }).timeoutMs).toBe(3900);
  });

  it("no timeout, a timeout already at its ceiling, or fixed timeouts: the usual rules", () => {
    expect(nextTimeout({ ...base, timeoutsThisTick: 0 }).reason).toBe("estimate");
    expect(nextTimeout({ ...base, currentMs: TIMEOUT_MAX_MS, timeoutsThisTick: 5 }).reason).toBe("estimate");
    expect(nextTimeout({ ...base, dynamic: false, timeoutsThisTick: 5 })).toEqual({
      timeoutMs: 3000,
      reason: "fixed",
    });
  });

  it(`after a burst, falls back toward the estimate by at most ${(1 - TIMEOUT_DECLINE) * 100}% a tick`, () => {
    // The histogram still says 400 ms (1.5 s by the floor); the timeout was doubled to 4 s.
    const seen: number[] = [];
    let currentMs = 4000;
    for (let i = 0; i < 8; i++) {
      currentMs = nextTimeout({ ...base, currentMs, timeoutsThisTick: 0 }).timeoutMs;
      seen.push(currentMs);
    }
    expect(seen).toEqual([3200, 2560, 2048, 1638, 1500, 1500, 1500, 1500]);
    // While the lane's recent calls hold a timeout, it does not fall at all.
    expect(nextTimeout({ ...base, currentMs: 4000, recentTimeouts: 1 }).timeoutMs).toBe(4000);
    expect(nextTimeout({ ...base, currentMs: 4000, recentTimeouts: 0.4 }).timeoutMs).toBe(3200);
    // Rising is immediate.
    expect(nextTimeout({ ...base, currentMs: 1500, estimateP99Ms: 3000 }).timeoutMs).toBe(4500);
  });
});

describe("LatencyEstimator.fromBuckets (the fleet's shared histogram)", () => {
  it("answers the same percentiles as the estimator whose samples the buckets hold", () => {
    const own = new LatencyEstimator({ minSamples: 1 });
    const buckets = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const ms = 80 + ((i * 37) % 400);
      own.record(ms);
      const b = latencyBucket(ms);
      buckets.set(b, (buckets.get(b) ?? 0) + 1);
    }
    const shared = LatencyEstimator.fromBuckets(buckets, { minSamples: 1 });
    for (const q of [0.5, 0.95, 0.99]) expect(shared.percentile(q)).toBeCloseTo(own.percentile(q)!, 6);
    expect(shared.count()).toBe(200);
  });

  it("ignores buckets out of range and counts that are not positive", () => {
    const e = LatencyEstimator.fromBuckets(
      new Map([
        [-1, 5],
        [1e9, 5],
        [latencyBucket(100), -3],
        [latencyBucket(100), Number.NaN],
      ]),
    );
    expect(e.count()).toBe(0);
  });
});

describe("hedgeDelayMs", () => {
  it("hedges at the p99 when it lies between the floor and half the timeout", () => {
    expect(hedgeDelayMs(600, 1_500)).toBe(600);
    expect(hedgeDelayMs(1_200, 4_000)).toBe(1_200);
  });

  it("never sooner than HEDGE_MIN_MS, never later than half the timeout", () => {
    expect(hedgeDelayMs(40, 1_500)).toBe(HEDGE_MIN_MS);
    expect(hedgeDelayMs(1_400, 1_500)).toBe(750);
    // a latency surge: the p99 is at the timeout, the hedge still goes well before it
    expect(hedgeDelayMs(4_800, TIMEOUT_MAX_MS)).toBe(TIMEOUT_MAX_MS / 2);
  });

  it("waits half the timeout while the p99 is unknown", () => {
    expect(hedgeDelayMs(null, TIMEOUT_MIN_MS)).toBe(TIMEOUT_MIN_MS / 2);
    expect(hedgeDelayMs(Number.NaN, 3_000)).toBe(1_500);
  });

  it("keeps the floor when the timeout itself is below twice the floor", () => {
    expect(hedgeDelayMs(null, 300)).toBe(HEDGE_MIN_MS);
    expect(hedgeDelayMs(100, 300)).toBe(HEDGE_MIN_MS);
  });
});
