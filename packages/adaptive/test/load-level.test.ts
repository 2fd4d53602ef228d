import type { LoadLevel } from "@moonfleet/domain";
import { describe, expect, it } from "vitest";
import {
  EVENT_LOOP_HIGH_MS,
  EVENT_LOOP_LOW_MS,
  EVENT_LOOP_MEDIUM_MS,
  nextLoadLevel,
} from "../src/load-level.js";
import type { Thresholds } from "../src/types.js";

// The settings table's defaults (packages/config/src/settings.ts).
const t: Thresholds = {
  highCpu: 80,
  mediumCpu: 60,
  lowCpu: 30,
  highMemory: 85,
  mediumMemory: 70,
  lowMemory: 50,
};
const calm = { cpuPercent: 10, memoryPercent: 20, eventLoopDelayP99Ms: 5 };

function replay(start: LoadLevel, cpus: readonly number[]): LoadLevel[] {
  const levels: LoadLevel[] = [];
  let level = start;
  for (const cpuPercent of cpus) {
    level = nextLoadLevel(level, { ...calm, cpuPercent }, t);
    levels.push(level);
  }
  return levels;
}

function changes(start: LoadLevel, levels: readonly LoadLevel[]): number {
  let n = 0;
  let previous = start;
  for (const level of levels) {
    if (level !== previous) n++;
    previous = level;
  }
  return n;
}

const wobble = (a: number, b: number, n = 40): number[] =>
  Array.from({ length: n }, (_, i) => (i % 2 ? a : b));

describe("nextLoadLevel", () => {
  it("stays normal on calm readings", () => {
    expect(nextLoadLevel("normal", calm, t)).toBe("normal");
  });

  it("enters high at the high thresholds, from any level", () => {
    for (const from of ["normal", "reduced", "high"] as const) {
      expect(nextLoadLevel(from, { ...calm, cpuPercent: 80 }, t)).toBe("high");
      expect(nextLoadLevel(from, { ...calm, memoryPercent: 85 }, t)).toBe("high");
      expect(nextLoadLevel(from, { ...calm, eventLoopDelayP99Ms: EVENT_LOOP_HIGH_MS }, t)).toBe("high");
    }
  });

  it("enters reduced from normal at the medium thresholds", () => {
    expect(nextLoadLevel("normal", { ...calm, cpuPercent: 60 }, t)).toBe("reduced");
    expect(nextLoadLevel("normal", { ...calm, memoryPercent: 70 }, t)).toBe("reduced");
    expect(nextLoadLevel("normal", { ...calm, eventLoopDelayP99Ms: EVENT_LOOP_MEDIUM_MS }, t)).toBe(
      "reduced",
    );
    expect(nextLoadLevel("normal", { ...calm, cpuPercent: 59.9 }, t)).toBe("normal");
  });

  it("leaves high for reduced only when every reading is below medium", () => {
    expect(nextLoadLevel("high", { ...calm, cpuPercent: 79 }, t)).toBe("high");
    expect(nextLoadLevel("high", { ...calm, cpuPercent: 60 }, t)).toBe("high");
    expect(nextLoadLevel("high", { ...calm, cpuPercent: 59 }, t)).toBe("reduced");
    expect(nextLoadLevel("high", { ...calm, cpuPercent: 59, memoryPercent: 70 }, t)).toBe("high");
    expect(
      nextLoadLevel("high", { ...calm, cpuPercent: 59, eventLoopDelayP99Ms: EVENT_LOOP_MEDIUM_MS }, t),
    ).toBe("high");
    // Steps down one level per reading, even when the reading is calm.
    expect(nextLoadLevel("high", calm, t)).toBe("reduced");
  });

  it("goes back to normal only when every reading is below low", () => {
    expect(nextLoadLevel("reduced", { ...calm, cpuPercent: 31 }, t)).toBe("reduced");
    expect(nextLoadLevel("reduced", { ...calm, cpuPercent: 29 }, t)).toBe("normal");
    expect(nextLoadLevel("reduced", { ...calm, cpuPercent: 29, memoryPercent: 50 }, t)).toBe("reduced");
    expect(
      nextLoadLevel("reduced", { ...calm, cpuPercent: 29, eventLoopDelayP99Ms: EVENT_LOOP_LOW_MS }, t),
    ).toBe("reduced");
  });

  it("does not flap when cpu wobbles around a threshold", () => {
    // Each wobble starts from the levels on either side of the threshold it straddles.
    const cases = [
      { a: 79, b: 81, starts: ["reduced", "high"] },
      { a: 59, b: 61, starts: ["normal", "reduced", "high"] },
      { a: 29, b: 31, starts: ["normal", "reduced"] },
    ] as const;
    for (const { a, b, starts } of cases) {
      for (const start of starts) {
        expect(changes(start, replay(start, wobble(a, b))), `${start} ${a}/${b}`).toBeLessThanOrEqual(1);
        expect(changes(start, replay(start, wobble(b, a))), `${start} ${b}/${a}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it("settles within two readings of a wobble from any level, then holds", () => {
    for (const start of ["normal", "reduced", "high"] as const) {
      for (const [a, b] of [
        [79, 81],
        [59, 61],
        [29, 31],
      ] as const) {
        const levels = replay(start, wobble(a, b));
        const settled = levels.slice(2);
        expect(new Set(settled).size, `${start} ${a}/${b}`).toBe(1);
      }
    }
  });
});
