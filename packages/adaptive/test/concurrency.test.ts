import type { LoadLevel } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import {
  CONNECTION_QUEUE_HOLD,
  CONNECTION_QUEUE_TRIM,
  GROWTH_COOLDOWN_TICKS,
  MAX_DUTY_WAIT_MS,
  MIN_DUTY,
  connectionQueueDepth,
  dutyWaitMs,
  initialConcurrency,
  nextConcurrency,
} from "../src/concurrency.js";
import type { ConcurrencyInput } from "../src/concurrency.js";
import type { ConcurrencyBounds, ConcurrencyState, UpstreamSignals } from "../src/types.js";

const bounds: ConcurrencyBounds = { max: 12, underLoad: 4 };
const quiet: UpstreamSignals = {
  calls: 50,
  timeouts: 0,
  errors: 0,
  rateLimited: 0,
  latencyP50Ms: 200,
  latencyP95Ms: 400,
  baselineLatencyMs: 200,
};

function input(over: Partial<ConcurrencyInput> & { limit?: number } = {}): ConcurrencyInput {
  const limit = over.limit ?? 1;
  return {
    level: over.level ?? "normal",
    // Saturated with work waiting, unless the test says otherwise.
    queue: over.queue ?? { waiting: 100, active: limit },
    upstream: over.upstream ?? quiet,
    parallel: over.parallel ?? true,
    ...(over.adaptive === undefined ? {} : { adaptive: over.adaptive }),
  };
}

const settled = (limit: number): ConcurrencyState => ({ limit, ticksSinceCut: 100 });

describe("initialConcurrency", () => {
  it("starts at the under-load cap, never above max", () => {
    expect(initialConcurrency(bounds)).toMatchObject({ limit: 4, reason: "start" });
    expect(initialConcurrency({ max: 2, underLoad: 4 }).limit).toBe(2);
  });
});

describe("nextConcurrency", () => {
  it("grows by one per tick under headroom, up to max", () => {
    let state = initialConcurrency(bounds).state;
    const limits: number[] = [];
    for (let i = 0; i < 20; i++) {
      const d = nextConcurrency(state, input({ limit: state.limit }), bounds);
      limits.push(d.limit);
      state = d.state;
    }
    expect(limits.slice(0, 9)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 12]);
    expect(nextConcurrency(state, input({ limit: 12 }), bounds).reason).toBe("hold_max");
    expect(Math.max(...limits)).toBe(12);
  });

  it("does not grow without waiting work or with free slots", () => {
    const idle = nextConcurrency(settled(6), input({ queue: { waiting: 0, active: 6 } }), bounds);
    expect(idle).toMatchObject({ limit: 6, changed: false, reason: "hold_idle" });
    const unsaturated = nextConcurrency(settled(6), input({ queue: { waiting: 10, active: 3 } }), bounds);
    expect(unsaturated).toMatchObject({ limit: 6, reason: "hold_idle" });
  });

  it("falls to the under-load cap within two ticks of high load, from max", () => {
    const first = nextConcurrency(settled(12), input({ level: "high", limit: 12 }), bounds);
    expect(first).toMatchObject({ limit: 4, changed: true, reason: "cut_high_load" });
    expect(first.state.ticksSinceCut).toBe(0);
    // It stays at the cap while the machine stays high and this process keeps up ...
    const second = nextConcurrency(first.state, input({ level: "high", limit: 4 }), bounds);
    expect(second.limit).toBe(4);
    // ... and halves further only while its own event loop lags.
    const lagging = { ...input({ level: "high", limit: 4 }), eventLoopP99Ms: 300 };
    const third = nextConcurrency(second.state, lagging, bounds);
    const fourth = nextConcurrency(third.state, { ...lagging, queue: { waiting: 0, active: 2 } }, bounds);
    const fifth = nextConcurrency(fourth.state, lagging, bounds);
    expect([third.limit, fourth.limit, fifth.limit]).toEqual([2, 1, 1]);
  });

  it("holds under reduced load", () => {
    expect(nextConcurrency(settled(8), input({ level: "reduced", limit: 8 }), bounds)).toMatchObject({
      limit: 8,
      changed: false,
      reason: "hold_reduced_load",
    });
  });

  it("halves on 429s", () => {
    const d = nextConcurrency(
      settled(10),
      input({ limit: 10, upstream: { ...quiet, rateLimited: 1 } }),
      bounds,
    );
    expect(d).toMatchObject({ limit: 5, reason: "cut_rate_limited" });
    expect(d.state.ticksSinceCut).toBe(0);
    expect(nextConcurrency(settled(1), input({ upstream: { ...quiet, rateLimited: 3 } }), bounds).limit).toBe(
      1,
    );
  });

  it("backs off on an error or timeout surge", () => {
    const surge = { ...quiet, calls: 20, timeouts: 2, errors: 1 };
    expect(nextConcurrency(settled(10), input({ limit: 10, upstream: surge }), bounds)).toMatchObject({
      limit: 7,
      reason: "cut_upstream_errors",
    });
    // 10% exactly is tolerated; so are a few failures among too few calls.
    const tolerable = { ...quiet, calls: 20, timeouts: 1, errors: 1 };
    expect(nextConcurrency(settled(10), input({ limit: 10, upstream: tolerable }), bounds).reason).toBe(
      "grow_backlog",
    );
    const fewCalls = { ...quiet, calls: 4, timeouts: 4 };
    expect(nextConcurrency(settled(10), input({ limit: 10, upstream: fewCalls }), bounds).reason).toBe(
      "grow_backlog",
    );
  });

  it("backs off on a latency surge", () => {
    const surge = { ...quiet, latencyP50Ms: 450, baselineLatencyMs: 200 };
    const d = nextConcurrency(settled(10), input({ limit: 10, upstream: surge }), bounds);
    expect(d).toMatchObject({ limit: 8, reason: "cut_latency_rising" });
    // Latency answers a cut late: no second latency cut before the cooldown is over.
    const next = nextConcurrency(d.state, input({ limit: 8, upstream: surge }), bounds);
    expect(next).toMatchObject({ limit: 8, reason: "hold_cooldown" });
    // Without a baseline there is no gradient.
    const noBaseline = { ...surge, baselineLatencyMs: null };
    expect(nextConcurrency(settled(10), input({ limit: 10, upstream: noBaseline }), bounds).limit).toBe(11);
  });

  it("backs off on latency alone only down to the under-load cap, and holds there", () => {
    const surge = { ...quiet, latencyP50Ms: 2_000, baselineLatencyMs: 200 };
    let state = settled(12);
    const limits: number[] = [];
    for (let i = 0; i < 40; i++) {
      const d = nextConcurrency(state, input({ limit: state.limit, upstream: surge }), bounds);
      state = d.state;
      limits.push(d.limit);
    }
    expect(Math.min(...limits)).toBe(bounds.underLoad);
    expect(limits.at(-1)).toBe(bounds.underLoad);
    expect(nextConcurrency(state, input({ limit: 4, upstream: surge }), bounds).reason).toBe(
      "hold_latency_rising",
    );
    // A cap above max does not lift the floor over max; errors still cut below the cap.
    expect(
      nextConcurrency(settled(3), input({ limit: 3, upstream: surge }), { max: 3, underLoad: 8 }).limit,
    ).toBe(3);
    const failing = { ...surge, timeouts: 20 };
    expect(nextConcurrency(settled(4), input({ limit: 4, upstream: failing }), bounds)).toMatchObject({
      limit: 2,
      reason: "cut_upstream_errors",
    });
  });

  it("waits for the cooldown after a cut before growing", () => {
    let state = nextConcurrency(
      settled(10),
      input({ limit: 10, upstream: { ...quiet, rateLimited: 1 } }),
      bounds,
    ).state;
    const reasons: string[] = [];
    for (let i = 0; i < GROWTH_COOLDOWN_TICKS + 1; i++) {
      const d = nextConcurrency(state, input({ limit: state.limit }), bounds);
      reasons.push(d.reason);
      state = d.state;
    }
    expect(reasons).toEqual([...Array<string>(GROWTH_COOLDOWN_TICKS).fill("hold_cooldown"), "grow_backlog"]);
    expect(state.limit).toBe(6);
  });

  it("runs one at a time when parallel processing is off", () => {
    for (const level of ["normal", "reduced", "high"] as const) {
      expect(nextConcurrency(settled(8), input({ level, limit: 8, parallel: false }), bounds)).toMatchObject({
        limit: 1,
        changed: true,
        reason: "parallel_disabled",
      });
    }
  });

  it("holds max whatever the load and the upstream when adaptive concurrency is off", () => {
    const storm: UpstreamSignals = { ...quiet, rateLimited: 9, timeouts: 30, latencyP50Ms: 2_000 };
    const cases: Array<[LoadLevel, UpstreamSignals, number]> = [
      ["high", quiet, 4],
      ["high", storm, 12],
      ["reduced", storm, 1],
      ["normal", storm, 12],
      ["normal", quiet, 7],
    ];
    for (const [level, upstream, from] of cases) {
      const d = nextConcurrency(
        settled(from),
        { ...input({ level, limit: from, upstream, adaptive: false }), eventLoopP99Ms: 900 },
        bounds,
      );
      expect(d, `${level} from ${from}`).toMatchObject({
        limit: 12,
        reason: "fixed_max",
        changed: from !== 12,
      });
    }
    // Parallel processing off still wins: one at a time.
    expect(nextConcurrency(settled(12), input({ parallel: false, adaptive: false }), bounds).limit).toBe(1);
    // The same storm with the flag on cuts.
    expect(nextConcurrency(settled(12), input({ limit: 12, upstream: storm }), bounds).limit).toBeLessThan(
      12,
    );
  });

  it("clamps when the operator lowers max at runtime", () => {
    const d = nextConcurrency(settled(12), input({ limit: 12 }), { max: 6, underLoad: 4 });
    expect(d).toMatchObject({ limit: 6, changed: true, reason: "clamp_bounds" });
    expect(d.state.ticksSinceCut).toBe(101);
  });

  it("never leaves its bounds under long random traces", () => {
    const random = mulberry32(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
    let b: ConcurrencyBounds = bounds;
    let state = initialConcurrency(b).state;
    let previousLevel: LoadLevel = "normal";
    for (let tick = 0; tick < 5000; tick++) {
      if (random() < 0.01)
        b = { max: 1 + Math.floor(random() * 24), underLoad: 1 + Math.floor(random() * 8) };
      const level: LoadLevel = random() < 0.8 ? previousLevel : pick(["normal", "reduced", "high"] as const);
      const calls = Math.floor(random() * 40);
      const d = nextConcurrency(
        state,
        {
          level,
          parallel: random() > 0.02,
          queue: { waiting: Math.floor(random() * 3) * 50, active: Math.floor(random() * (state.limit + 2)) },
          upstream: {
            calls,
            timeouts: random() < 0.1 ? Math.floor(random() * calls) : 0,
            errors: random() < 0.1 ? Math.floor(random() * calls) : 0,
            rateLimited: random() < 0.05 ? 1 : 0,
            latencyP50Ms: random() < 0.1 ? null : 100 + random() * 900,
            latencyP95Ms: null,
            baselineLatencyMs: random() < 0.1 ? null : 200 + random() * 200,
            connectionQueue: random() < 0.2 ? null : random() * 2,
          },
          elastic: random() < 0.5,
          yieldStep: random() < 0.3,
          restoreTo: random() < 0.02 ? 1 + Math.floor(random() * 30) : null,
        },
        b,
      );
      expect(Number.isInteger(d.limit)).toBe(true);
      expect(d.limit).toBeGreaterThanOrEqual(1);
      expect(d.limit).toBeLessThanOrEqual(b.max);
      expect(d.state.limit).toBe(d.limit);
      // the duty: within [MIN_DUTY, 1], below 1 only at one slot, kept in the state
      expect(d.duty).toBeGreaterThanOrEqual(MIN_DUTY);
      expect(d.duty).toBeLessThanOrEqual(1);
      if (d.limit > 1) expect(d.duty).toBe(1);
      expect(d.state.duty ?? 1).toBe(d.duty);
      expect(d.changed).toBe(d.limit !== state.limit || d.duty !== (state.duty ?? 1));
      if (level === "high") expect(d.limit).toBeLessThanOrEqual(b.underLoad);
      state = d.state;
      previousLevel = level;
    }
  });
});

/** A small seeded PRNG, so a failing random trace replays exactly. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("nextConcurrency: a co-tenant that needs the CPU", () => {
  const high = (over: Partial<ConcurrencyInput>) => ({ ...input({ level: "high", limit: 12 }), ...over });

  it("halves the elastic lane below the under-load cap on a yield step, down to 1", () => {
    let state = settled(12);
    const limits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const d = nextConcurrency(state, high({ elastic: true, yieldStep: true }), bounds);
      expect(d.reason).toBe("cut_cotenant");
      limits.push(d.limit);
      state = d.state;
    }
    // The first step is also clamped to the cap (4): every decision under high ends within it.
    expect(limits).toEqual([4, 2, 1, 1, 1]);
  });

  it("at one slot halves the slot's duty on each yield step, down to MIN_DUTY", () => {
    let state = settled(2);
    const steps: Array<[number, number, boolean]> = [];
    for (let i = 0; i < 5; i++) {
      const d = nextConcurrency(state, high({ elastic: true, yieldStep: true }), bounds);
      expect(d.reason).toBe("cut_cotenant");
      steps.push([d.limit, d.duty, d.changed]);
      state = d.state;
    }
    expect(MIN_DUTY).toBe(0.25);
    expect(steps).toEqual([
      [1, 1, true],
      [1, 0.5, true],
      [1, 0.25, true],
      [1, 0.25, false],
      [1, 0.25, false],
    ]);
    // Between yield steps the load rule holds the slot and its duty.
    const between = nextConcurrency(state, high({ elastic: true, yieldStep: false }), bounds);
    expect(between).toMatchObject({ limit: 1, duty: 0.25, reason: "cut_high_load", changed: false });
    // The lane that is not elastic has no duty below full time.
    const hot = nextConcurrency(settled(1), high({ elastic: false, yieldStep: true }), bounds);
    expect(hot).toMatchObject({ limit: 1, duty: 1 });
  });

  it("grows a slot's duty back to full time before it adds a slot, after the cooldown", () => {
    let state: ConcurrencyState = { limit: 1, ticksSinceCut: 0, duty: 0.25 };
    const steps: Array<[number, number, string]> = [];
    for (let i = 0; i < 6; i++) {
      const d = nextConcurrency(state, input({ limit: 1 }), bounds);
      steps.push([d.limit, d.duty, d.reason]);
      state = d.state;
    }
    expect(steps).toEqual([
      [1, 0.25, "hold_cooldown"],
      [1, 0.25, "hold_cooldown"],
      [1, 0.25, "hold_cooldown"],
      [1, 0.5, "grow_backlog"],
      [1, 1, "grow_backlog"],
      [2, 1, "grow_backlog"],
    ]);
    // Calls waiting on the budget hold the slots, not the duty: it adds no call in flight.
    const waiting = { ...quiet, budgetWaits: 3 };
    const budget = nextConcurrency(
      { limit: 1, ticksSinceCut: 100, duty: 0.25 },
      input({ limit: 1, upstream: waiting }),
      bounds,
    );
    expect(budget).toMatchObject({ limit: 1, duty: 0.5, reason: "grow_backlog" });
    expect(
      nextConcurrency({ limit: 1, ticksSinceCut: 100 }, input({ limit: 1, upstream: waiting }), bounds),
    ).toMatchObject({ limit: 1, duty: 1, reason: "hold_budget" });
    // Idle (no work waiting): no growth, the duty is kept.
    const idle = nextConcurrency(
      { limit: 1, ticksSinceCut: 100, duty: 0.5 },
      input({ limit: 1, queue: { waiting: 0, active: 0 } }),
      bounds,
    );
    expect(idle).toMatchObject({ limit: 1, duty: 0.5, reason: "hold_idle" });
  });

  it("is back at full time on an undo, with fixed concurrency and with parallel processing off", () => {
    const yielded: ConcurrencyState = { limit: 1, ticksSinceCut: 100, duty: 0.25 };
    expect(nextConcurrency(yielded, { ...input({ limit: 1 }), restoreTo: 6 }, bounds)).toMatchObject({
      limit: 6,
      duty: 1,
      reason: "undo_cut",
    });
    expect(nextConcurrency(yielded, { ...input({ limit: 1 }), restoreTo: 1 }, bounds)).toMatchObject({
      limit: 1,
      duty: 1,
      changed: true,
    });
    expect(nextConcurrency(yielded, { ...input({ limit: 1 }), adaptive: false }, bounds)).toMatchObject({
      limit: 12,
      duty: 1,
    });
    expect(nextConcurrency(yielded, { ...input({ limit: 1 }), parallel: false }, bounds)).toMatchObject({
      limit: 1,
      duty: 1,
      reason: "parallel_disabled",
    });
  });

  it("between yield steps, and on the lane that is not elastic, holds the under-load cap", () => {
    expect(nextConcurrency(settled(12), high({ elastic: true, yieldStep: false }), bounds)).toMatchObject({
      limit: 4,
      reason: "cut_high_load",
    });
    expect(nextConcurrency(settled(2), high({ elastic: true, yieldStep: false }), bounds).limit).toBe(2);
    expect(nextConcurrency(settled(12), high({ elastic: false, yieldStep: true }), bounds)).toMatchObject({
      limit: 4,
      reason: "cut_high_load",
    });
  });

  it("undoes a cut that did not pay: back to the limit before it, within max", () => {
    const d = nextConcurrency(settled(1), { ...input({ limit: 1 }), restoreTo: 9 }, bounds);
    expect(d).toMatchObject({ limit: 9, reason: "undo_cut", changed: true });
    expect(nextConcurrency(settled(1), { ...input({ limit: 1 }), restoreTo: 40 }, bounds).limit).toBe(12);
    // Fixed concurrency knows no experiments.
    expect(
      nextConcurrency(settled(12), { ...input({ limit: 12 }), adaptive: false, restoreTo: 3 }, bounds).reason,
    ).toBe("fixed_max");
  });
});

describe("nextConcurrency: the error cut needs more than one unlucky call", () => {
  it("one or two failures among few calls hold; three over 10 % cut", () => {
    const withFailures = (calls: number, timeouts: number) =>
      nextConcurrency(settled(8), { ...input({ limit: 8 }), upstream: { ...quiet, calls, timeouts } }, bounds)
        .reason;
    expect(withFailures(5, 1)).not.toBe("cut_upstream_errors");
    expect(withFailures(8, 2)).not.toBe("cut_upstream_errors");
    expect(withFailures(20, 3)).toBe("cut_upstream_errors");
    expect(withFailures(40, 3)).not.toBe("cut_upstream_errors");
  });
});

describe("nextConcurrency: the upstream connection pool", () => {
  const pool = (connectionQueue: number | null) => ({ ...quiet, connectionQueue });

  it("reads the pool's queue per connection, null without calls", () => {
    expect(connectionQueueDepth({ calls: 10, waitingSum: 80, connections: 16 })).toBe(0.5);
    expect(connectionQueueDepth({ calls: 10, waitingSum: 0, connections: 16 })).toBe(0);
    expect(connectionQueueDepth({ calls: 0, waitingSum: 0, connections: 16 })).toBeNull();
    expect(connectionQueueDepth({ calls: 4, waitingSum: 8, connections: 0 })).toBe(2);
  });

  it("grows while the calls find a connection, holds once they wait for one", () => {
    const below = CONNECTION_QUEUE_HOLD - 0.01;
    expect(nextConcurrency(settled(6), input({ limit: 6, upstream: pool(below) }), bounds)).toMatchObject({
      limit: 7,
      reason: "grow_backlog",
    });
    expect(
      nextConcurrency(settled(6), input({ limit: 6, upstream: pool(CONNECTION_QUEUE_HOLD) }), bounds),
    ).toMatchObject({ limit: 6, changed: false, reason: "hold_connections" });
    // no calls, no reading: the pool says nothing
    expect(nextConcurrency(settled(6), input({ limit: 6, upstream: pool(null) }), bounds).reason).toBe(
      "grow_backlog",
    );
  });

  it("gives a slot back while the calls wait a whole round, down to the under-load cap, every few ticks", () => {
    let state = settled(12);
    const limits: number[] = [];
    const reasons: string[] = [];
    for (let i = 0; i < 40; i++) {
      const d = nextConcurrency(
        state,
        input({ limit: state.limit, upstream: pool(CONNECTION_QUEUE_TRIM) }),
        bounds,
      );
      limits.push(d.limit);
      reasons.push(d.reason);
      state = d.state;
    }
    expect(limits[0]).toBe(11);
    expect(reasons.slice(0, GROWTH_COOLDOWN_TICKS + 2)).toEqual([
      "trim_connections",
      ...Array<string>(GROWTH_COOLDOWN_TICKS).fill("hold_connections"),
      "trim_connections",
    ]);
    expect(Math.min(...limits)).toBe(bounds.underLoad);
    expect(limits.at(-1)).toBe(bounds.underLoad);
    // an idle lane is trimmed too (its share of the pool waits as well)
    expect(
      nextConcurrency(settled(8), input({ queue: { waiting: 0, active: 2 }, upstream: pool(1.5) }), bounds),
    ).toMatchObject({ limit: 7, reason: "trim_connections" });
  });

  it("grows back to the under-load cap whatever the pool says: the cap is each lane's share", () => {
    // cut to 2 by a co-tenant or errors while the other lane keeps the pool busy
    expect(nextConcurrency(settled(2), input({ limit: 2, upstream: pool(0.8) }), bounds)).toMatchObject({
      limit: 3,
      reason: "grow_backlog",
    });
    expect(nextConcurrency(settled(4), input({ limit: 4, upstream: pool(0.8) }), bounds).reason).toBe(
      "hold_connections",
    );
    expect(nextConcurrency(settled(4), input({ limit: 4, upstream: pool(5) }), bounds).reason).toBe(
      "hold_connections",
    );
  });

  it("is no cut: an error storm right after a trim cuts at once, and a lowered max says clamp_bounds", () => {
    const trimmed = nextConcurrency(settled(12), input({ limit: 12, upstream: pool(1.5) }), bounds);
    expect(trimmed).toMatchObject({ limit: 11, reason: "trim_connections" });
    const storm: UpstreamSignals = { ...pool(1.5), calls: 20, timeouts: 10 };
    expect(nextConcurrency(trimmed.state, input({ limit: 11, upstream: storm }), bounds)).toMatchObject({
      limit: 7,
      reason: "cut_upstream_errors",
    });
    expect(
      nextConcurrency(settled(12), input({ limit: 12, upstream: pool(1.5) }), { max: 6, underLoad: 4 }),
    ).toMatchObject({ limit: 6, reason: "clamp_bounds" });
  });

  it("does not touch fixed concurrency, and the stronger cuts still come first", () => {
    expect(
      nextConcurrency(settled(12), { ...input({ limit: 12, upstream: pool(3) }), adaptive: false }, bounds),
    ).toMatchObject({ limit: 12, reason: "fixed_max" });
    expect(
      nextConcurrency(settled(12), input({ limit: 12, upstream: { ...pool(3), rateLimited: 2 } }), bounds)
        .reason,
    ).toBe("cut_rate_limited");
    expect(
      nextConcurrency(settled(12), input({ limit: 12, level: "high", upstream: pool(3) }), bounds),
    ).toMatchObject({ limit: 4, reason: "cut_high_load" });
  });
});

describe("dutyWaitMs", () => {
  it("rests a slot at duty d after a job for the job's time x (1/d - 1)", () => {
    expect(dutyWaitMs(1, 200)).toBe(0);
    expect(dutyWaitMs(0.5, 200)).toBe(200);
    expect(dutyWaitMs(0.25, 200)).toBe(600);
  });

  it("rests at most MAX_DUTY_WAIT_MS, never below MIN_DUTY's rest, and not at all on garbage", () => {
    expect(dutyWaitMs(0.25, 60_000)).toBe(MAX_DUTY_WAIT_MS);
    expect(dutyWaitMs(0.01, 100)).toBe(dutyWaitMs(MIN_DUTY, 100));
    expect(dutyWaitMs(0.5, 0)).toBe(0);
    expect(dutyWaitMs(0.5, Number.NaN)).toBe(0);
    expect(dutyWaitMs(Number.NaN, 100)).toBe(0);
  });
});
