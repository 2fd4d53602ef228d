import type { LoadLevel, Readings } from "@moonfleet/domain";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { initialConcurrency, nextConcurrency } from "../src/concurrency.js";
import { nextLoadLevel } from "../src/load-level.js";
import type { ConcurrencyBounds, Thresholds } from "../src/types.js";

// A real sampler run (see the trace's description): idle, a CPU hog on every CPU, idle, then
// other load on the shared machine.
interface Trace {
  readonly description: string;
  readonly intervalMs: number;
  readonly readings: readonly Readings[];
}
const trace = JSON.parse(readFileSync(new URL("./traces/cpu-hog.json", import.meta.url), "utf8")) as Trace;

const thresholds: Thresholds = {
  highCpu: 80,
  mediumCpu: 60,
  lowCpu: 30,
  highMemory: 85,
  mediumMemory: 70,
  lowMemory: 50,
};
const bounds: ConcurrencyBounds = { max: 12, underLoad: 4 };

interface Tick {
  readonly level: LoadLevel;
  readonly limit: number;
}

/** Replays the trace through the level and concurrency decisions, with work always waiting. */
function replay(): Tick[] {
  let level: LoadLevel = "normal";
  let state = initialConcurrency(bounds).state;
  return trace.readings.map((r) => {
    level = nextLoadLevel(level, r, thresholds);
    const d = nextConcurrency(
      state,
      {
        level,
        parallel: true,
        queue: { waiting: 500, active: state.limit },
        upstream: {
          calls: 40,
          timeouts: 0,
          errors: 0,
          rateLimited: 0,
          latencyP50Ms: 300,
          latencyP95Ms: 600,
          baselineLatencyMs: 300,
        },
      },
      bounds,
    );
    state = d.state;
    return { level, limit: d.limit };
  });
}

describe("the recorded cpu-hog trace", () => {
  const ticks = replay();
  const firstHigh = ticks.findIndex((t) => t.level === "high");
  const hogEnd = trace.readings.findIndex((r, i) => i > firstHigh && r.cpuPercent < 60);

  it("is about a minute of one-second readings with a hog in the middle", () => {
    expect(trace.readings.length).toBeGreaterThanOrEqual(55);
    expect(trace.intervalMs).toBe(1000);
    expect(firstHigh).toBeGreaterThan(10);
    expect(hogEnd - firstHigh).toBeGreaterThanOrEqual(15);
  });

  it("grows to max before the hog", () => {
    expect(ticks[firstHigh - 1]?.limit).toBe(bounds.max);
  });

  it("reaches the under-load cap within two ticks of the first high reading", () => {
    const within = ticks.slice(firstHigh, firstHigh + 2).map((t) => t.limit);
    expect(Math.min(...within)).toBeLessThanOrEqual(bounds.underLoad);
    for (const t of ticks.slice(firstHigh, hogEnd)) expect(t.limit).toBeLessThanOrEqual(bounds.underLoad);
  });

  it("grows back after the hog", () => {
    const atEnd = ticks[hogEnd - 1]?.limit ?? Infinity;
    const calm = ticks.slice(hogEnd, hogEnd + 8);
    expect(calm.some((t) => t.level === "normal")).toBe(true);
    expect(Math.max(...calm.map((t) => t.limit))).toBeGreaterThan(atEnd + 2);
  });

  it("changes level rarely and stays within bounds on the whole trace", () => {
    let changes = 0;
    ticks.forEach((t, i) => {
      if (i > 0 && t.level !== ticks[i - 1]?.level) changes++;
      expect(t.limit).toBeGreaterThanOrEqual(1);
      expect(t.limit).toBeLessThanOrEqual(t.level === "high" ? bounds.underLoad : bounds.max);
    });
    // normal -> high -> reduced -> normal for the hog, and a few for the noisy tail.
    expect(changes).toBeLessThanOrEqual(8);
  });
});
