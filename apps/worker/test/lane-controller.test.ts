import { LOAD_LEVELS, type LoadLevel } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import { lanePolicy, loadConfig } from "@moonfleet/config";
import { TIMEOUT_MAX_MS } from "@moonfleet/adaptive";
import { LaneController, laneCap } from "../src/lane-controller.js";

const HIGH = { machine: { cpus: 8, memoryBytes: 16 * 1024 ** 3 } };
const policyOf = (env: Record<string, string>) =>
  lanePolicy(loadConfig({ MAX_CONCURRENT_HOT: "8", MAX_CONCURRENT_UNDER_LOAD: "3", ...env }, HIGH), "hot");

const POLICIES = {
  adaptive: policyOf({}),
  fixed: policyOf({ ENABLE_ADAPTIVE_CONCURRENCY: "false" }),
  single: policyOf({ ENABLE_PARALLEL_PROCESSING: "false" }),
  legacy: policyOf({ ENABLE_SCHEDULER_OPTIMIZATION: "false" }),
};

/** One tick with nothing waiting and no upstream signal: the limit the controller holds at `level`. */
function held(lane: LaneController, policy: (typeof POLICIES)[keyof typeof POLICIES], level: LoadLevel) {
  return lane.tick(level, 0, policy, 0, 1_000).concurrency.limit;
}

describe("LaneController.clamp", () => {
  it("caps by the same rule as the controller's ticks, so the next tick never undoes a clamp", () => {
    for (const [name, policy] of Object.entries(POLICIES))
      for (const level of LOAD_LEVELS) {
        const lane = new LaneController(policyOf({ MAX_CONCURRENT_HOT: "200" }), 0);
        // Start from well above every cap (an operator lowering the bounds at runtime).
        lane.active = 1_000;
        for (let i = 0; i < 200; i++)
          lane.tick("normal", 10, policyOf({ MAX_CONCURRENT_HOT: "200" }), 0, 1_000);
        expect(lane.limit).toBe(200);
        lane.clamp(policy, level, 1);
        const clamped = lane.limit;
        expect({ name, level, clamped }).toEqual({
          name,
          level,
          clamped: laneCap(policy.concurrency, level),
        });
        lane.active = 0;
        expect({ name, level, next: held(lane, policy, level) }).toEqual({ name, level, next: clamped });
      }
  });

  it("holds a fixed concurrency at max under high load", () => {
    expect(laneCap(POLICIES.fixed.concurrency, "high")).toBe(8);
    expect(laneCap(POLICIES.adaptive.concurrency, "high")).toBe(3);
    expect(laneCap(POLICIES.adaptive.concurrency, "normal")).toBe(8);
    expect(laneCap(POLICIES.single.concurrency, "normal")).toBe(1);
    expect(laneCap(POLICIES.legacy.concurrency, "normal")).toBe(1);
  });

  it("starts each policy where its ticks hold it", () => {
    expect(new LaneController(POLICIES.fixed, 0).state()).toMatchObject({
      concurrency: 8,
      reason: "fixed_max",
    });
    expect(new LaneController(POLICIES.single, 0).state()).toMatchObject({
      concurrency: 1,
      reason: "parallel_disabled",
    });
    expect(new LaneController(POLICIES.adaptive, 0).state()).toMatchObject({
      concurrency: 3,
      reason: "start",
    });
    expect(new LaneController(POLICIES.legacy, 0).state()).toMatchObject({
      timeoutMs: 5_000,
      timeoutReason: "fixed",
    });
  });
});

describe("LaneController.recordOverrun", () => {
  const dynamic = POLICIES.adaptive;
  const fixedTimeout = policyOf({ ENABLE_DYNAMIC_TIMEOUTS: "false" });

  /** A lane whose calls answered in 100 ms: its timeout at the floor the estimate gives. */
  function calmLane() {
    const lane = new LaneController(dynamic, 0);
    for (let i = 0; i < 200; i++) lane.recordCall(100, "ok");
    for (let t = 0; t < 10; t++) lane.tick("normal", 0, dynamic, t * 1_000, 1_000);
    return lane;
  }

  it("doubles a dynamic timeout at once, counting no timeout and no failure", () => {
    const lane = calmLane();
    const before = lane.timeout;
    expect(2 * before).toBeLessThan(TIMEOUT_MAX_MS);
    lane.recordOverrun(before);
    expect(lane.timeout).toBe(2 * before);
    expect(lane.state()).toMatchObject({
      timeoutReason: "timeout_burst",
      timeouts: 0,
      errors: 0,
      recentTimeouts: 0,
    });
    // a second call that ran out under the old timeout is already answered
    lane.recordOverrun(before);
    expect(lane.timeout).toBe(2 * before);
    // one that outlives the raised timeout too is the next signal
    lane.recordOverrun(2 * before);
    expect(lane.timeout).toBe(Math.min(4 * before, TIMEOUT_MAX_MS));
  });

  it("leaves a fixed timeout as it is", () => {
    const lane = new LaneController(fixedTimeout, 0);
    const before = lane.timeout;
    lane.recordOverrun(before);
    expect(lane.timeout).toBe(before);
  });

  it("keeps the raised timeout while recent calls ran out of it, then lets it fall", () => {
    const lane = calmLane();
    const calm = lane.timeout;
    lane.recordOverrun(calm);
    const raised = lane.timeout;
    expect(raised).toBe(2 * calm);
    for (let t = 1; t <= 3; t++) {
      lane.recordCall(100, "ok");
      lane.tick("normal", 0, dynamic, (10 + t) * 1_000, 1_000);
    }
    expect(lane.timeout).toBe(raised);
    for (let t = 4; t <= 60; t++) {
      lane.recordCall(100, "ok");
      lane.tick("normal", 0, dynamic, (10 + t) * 1_000, 1_000);
    }
    expect(lane.timeout).toBeLessThan(raised);
  });
});

describe("LaneController.hedgeAfterMs", () => {
  const policy = POLICIES.adaptive;

  it("is half the timeout while the lane has no latency to go by", () => {
    const lane = new LaneController(policy, 0);
    expect(lane.hedgeAfterMs).toBe(Math.round(lane.timeout / 2));
  });

  it("follows the lane's p99 latency once it has calls: a tail call is hedged, a usual one not", () => {
    const lane = new LaneController(policy, 0);
    // 98 % answer in 100 ms, 2 % in 600 ms: the p99 sits in the slow tail
    for (let i = 0; i < 500; i++) lane.recordCall(i % 50 === 0 ? 600 : 100, "ok");
    const after = lane.hedgeAfterMs;
    expect(after).toBeGreaterThan(500);
    expect(after).toBeLessThanOrEqual(Math.max(600 * 1.05, lane.timeout / 2));
    // a fast lane still waits the floor before a hedge
    const fast = new LaneController(policy, 0);
    for (let i = 0; i < 500; i++) fast.recordCall(20, "ok");
    expect(fast.hedgeAfterMs).toBe(250);
  });
});

describe("LaneController: an elastic lane yielding below one slot", () => {
  const yieldStep = { verdict: "yield" as const, yieldStep: true, elastic: true };
  const between = { verdict: "yield" as const, yieldStep: false, elastic: true };

  it("halves its one slot's duty, says so, and rests after each job for its share of the time", () => {
    const policy = policyOf({ MAX_CONCURRENT_UNDER_LOAD: "1" });
    const lane = new LaneController(policy, 0);
    expect(lane.duty).toBe(1);
    const steps = [yieldStep, between, yieldStep, yieldStep].map(
      (cpu, i) => lane.tick("high", 5, policy, i * 1_000, 1_000, 0, null, cpu).concurrency,
    );
    expect(steps.map((c) => [c.limit, c.duty, c.dutyFrom, c.reason])).toEqual([
      [1, 0.5, 1, "cut_cotenant"],
      [1, 0.5, 0.5, "cut_high_load"],
      [1, 0.25, 0.5, "cut_cotenant"],
      [1, 0.25, 0.25, "cut_cotenant"],
    ]);
    expect(lane.state()).toMatchObject({ concurrency: 1, duty: 0.25 });
    // A 200 ms job at a quarter of the time: 600 ms of rest after it.
    expect(lane.restAfter(200)).toBe(600);
  });

  it("is back at full time, and rests no more, once a probe that did not pay is undone", () => {
    const policy = policyOf({ MAX_CONCURRENT_UNDER_LOAD: "1" });
    const lane = new LaneController(policy, 0);
    lane.tick("high", 5, policy, 0, 1_000, 0, null, { verdict: "probe", yieldStep: true, elastic: true });
    expect(lane.duty).toBe(0.5);
    const undo = lane.tick("normal", 5, policy, 2_000, 1_000, 0, null, {
      verdict: "undo",
      yieldStep: false,
      elastic: true,
    });
    expect(undo.concurrency).toMatchObject({
      limit: 1,
      duty: 1,
      dutyFrom: 0.5,
      reason: "undo_cut",
      changed: true,
    });
    expect(lane.restAfter(200)).toBe(0);
    expect(lane.state().duty).toBeUndefined();
  });
});
