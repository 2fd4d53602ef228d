import type { LoadLevel } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import { SETTLE_TICKS, fit, initialBatchSizerState, nextBatchSize } from "../src/batch-sizer.js";
import type { BatchSizerBounds, BatchSizerInput, BatchSizerState } from "../src/types.js";

const bounds: BatchSizerBounds = { min: 10, max: 150, adaptive: true, fixed: 70 };

function input(over: Partial<BatchSizerInput> & { level?: LoadLevel } = {}): BatchSizerInput {
  return {
    dueNow: over.dueNow ?? 5000,
    waitingJobs: over.waitingJobs ?? 20,
    fleet: { workers: 2, slots: 16, level: over.level ?? "normal" },
    avgJobMs: over.avgJobMs === undefined ? null : over.avgJobMs,
    ...(over.avgJobTokens === undefined ? {} : { avgJobTokens: over.avgJobTokens }),
  };
}

const at = (size: number, msPerToken: number | null = null): BatchSizerState => ({
  size,
  msPerToken,
  ticksSinceChange: 10,
});

function run(state: BatchSizerState, steps: readonly BatchSizerInput[], b = bounds): number[] {
  const sizes: number[] = [];
  for (const step of steps) {
    const d = nextBatchSize(state, step, b);
    sizes.push(d.size);
    state = d.state;
  }
  return sizes;
}

describe("nextBatchSize", () => {
  it("uses the fixed size when not adaptive", () => {
    const fixed = { ...bounds, adaptive: false, fixed: 35 };
    for (const level of ["normal", "high"] as const) {
      const d = nextBatchSize(at(120), input({ level, avgJobMs: 9000 }), fixed);
      expect(d).toMatchObject({ size: 35, changed: true, reason: "fixed" });
    }
    expect(initialBatchSizerState(fixed).size).toBe(35);
  });

  it("starts from the legacy size, fitted to multiples of 30", () => {
    expect(initialBatchSizerState(bounds)).toEqual({
      size: 60,
      msPerToken: null,
      ticksSinceChange: SETTLE_TICKS,
    });
    expect(initialBatchSizerState({ ...bounds, fixed: 35 }).size).toBe(30);
    // A stored legacy size is fitted on the next tick.
    expect(nextBatchSize(at(35), input(), bounds)).toMatchObject({ size: 30, reason: "clamp_bounds" });
  });

  it("holds without job data", () => {
    expect(nextBatchSize(at(60), input(), bounds)).toMatchObject({
      size: 60,
      changed: false,
      reason: "hold",
    });
  });

  it("shrinks when jobs run long, waiting for the new size to be measured between steps", () => {
    // 120 tokens in 6 s: 50 ms a token, so 1.5 s jobs hold 30 tokens.
    const first = nextBatchSize(at(120), input({ avgJobMs: 6000, avgJobTokens: 120 }), bounds);
    expect(first).toMatchObject({ size: 60, changed: true, reason: "shrink_slow_jobs" });
    const settling = nextBatchSize(first.state, input({ avgJobMs: 6000, avgJobTokens: 120 }), bounds);
    expect(settling).toMatchObject({ size: 60, reason: "hold_settling" });
    let state = settling.state;
    for (let i = 0; i < 3; i++)
      state = nextBatchSize(state, input({ avgJobMs: 3000, avgJobTokens: 60 }), bounds).state;
    expect(state.size).toBe(30);
  });

  it("assumes the current size when the token count of finished jobs is unknown", () => {
    expect(nextBatchSize(at(120), input({ avgJobMs: 6000 }), bounds).reason).toBe("shrink_slow_jobs");
  });

  it("halves toward min under high fleet load", () => {
    const high = Array.from({ length: 6 }, () => input({ level: "high" }));
    expect(run(at(150), high)).toEqual([90, 60, 30, 15, 10, 10]);
    expect(nextBatchSize(at(150), input({ level: "high" }), bounds).reason).toBe("shrink_high_load");
  });

  it("grows with backlog and short jobs, at most doubling per tick", () => {
    // 5 ms a token: 1.5 s jobs would hold 300 tokens, more than max.
    const short = (size: number): BatchSizerInput => input({ avgJobMs: size * 5, avgJobTokens: size });
    const d = nextBatchSize(at(30), short(30), bounds);
    expect(d).toMatchObject({ size: 60, reason: "grow_backlog" });
    const steps = [
      short(30),
      short(60),
      short(60),
      short(60),
      short(120),
      short(120),
      short(120),
      short(150),
    ];
    const sizes = run(at(30), steps);
    expect(sizes).toEqual([60, 60, 60, 120, 120, 120, 150, 150]);
    // 10 ms a token: 120 tokens take 1.2 s, inside the band around 1.5 s, so it stays.
    const medium = nextBatchSize(at(120, 10), input({ avgJobMs: 1200, avgJobTokens: 120 }), bounds);
    expect(medium).toMatchObject({ size: 120, reason: "hold" });
  });

  it("does not grow short jobs without a backlog, and spreads a small one over the slots", () => {
    const quiet = input({ avgJobMs: 300, avgJobTokens: 30, dueNow: 0, waitingJobs: 0 });
    expect(nextBatchSize(at(30), quiet, bounds)).toMatchObject({ size: 30, reason: "hold" });
    // 160 due over 16 slots: spread out, but never below one full upstream call (30), because the
    // budget counts calls: 16 calls of 10 would spend 16 permits where 6 do. Reached by halving.
    const small = input({ dueNow: 160, waitingJobs: 0 });
    expect(nextBatchSize(at(120), small, bounds)).toMatchObject({ size: 60, reason: "spread_small_backlog" });
    expect(run(at(120), [small, small, small, small])).toEqual([60, 30, 30, 30]);
  });

  it("keeps sizes of 30 and more on multiples of 30, within bounds, on random inputs", () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const levels = ["normal", "reduced", "high"] as const;
    let b: BatchSizerBounds = bounds;
    let state = initialBatchSizerState(b);
    for (let tick = 0; tick < 3000; tick++) {
      if (random() < 0.02) {
        const min = 1 + Math.floor(random() * 40);
        b = { ...b, min, max: min + Math.floor(random() * 200) };
      }
      const size = state.size;
      const d = nextBatchSize(
        state,
        {
          dueNow: Math.floor(random() * 3000),
          waitingJobs: Math.floor(random() * 40),
          fleet: {
            workers: 1 + Math.floor(random() * 4),
            slots: Math.floor(random() * 40),
            level: levels[tick % 3] ?? "normal",
          },
          avgJobMs: random() < 0.2 ? null : random() * 8000,
        },
        b,
      );
      expect(d.size).toBeGreaterThanOrEqual(b.min);
      expect(d.size).toBeLessThanOrEqual(b.max);
      expect(Number.isInteger(d.size)).toBe(true);
      if (d.size >= 30 && Math.floor(b.max / 30) * 30 >= Math.max(30, b.min)) expect(d.size % 30).toBe(0);
      expect(d.changed).toBe(d.size !== size);
      state = d.state;
    }
  });

  it("clamps to the bounds, rounding them inward to multiples of 30", () => {
    expect(fit(1000, 10, 100)).toBe(90);
    expect(fit(1, 10, 100)).toBe(10);
    expect(fit(44, 10, 100)).toBe(30);
    expect(fit(46, 10, 100)).toBe(60);
    expect(fit(20, 10, 100)).toBe(20);
    // No multiple of 30 between the bounds: plain clamp.
    expect(fit(50, 40, 50)).toBe(50);
    const d = nextBatchSize(at(150), input(), { ...bounds, max: 100 });
    expect(d).toMatchObject({ size: 90, reason: "clamp_bounds" });
  });

  it("round-trips its state through JSON", () => {
    const steps = [
      input({ avgJobMs: 200, avgJobTokens: 30 }),
      input({ avgJobMs: 900, avgJobTokens: 60 }),
      input({ level: "high" }),
      input({ avgJobMs: 4000, avgJobTokens: 60 }),
    ];
    let direct = initialBatchSizerState(bounds);
    let stored = JSON.stringify(direct);
    for (const step of steps) {
      const restored = JSON.parse(stored) as BatchSizerState;
      expect(restored).toEqual(direct);
      const a = nextBatchSize(direct, step, bounds);
      const b = nextBatchSize(restored, step, bounds);
      expect(b).toEqual(a);
      direct = a.state;
      stored = JSON.stringify(b.state);
    }
    expect(direct.msPerToken).not.toBeNull();
  });
});
