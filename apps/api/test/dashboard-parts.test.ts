import { describe, expect, it } from "vitest";
import { batchJobName } from "@moonfleet/queues";
import { thin } from "../src/history-routes.js";
import { rollingBudgetUse } from "../src/history-sampler.js";
import { jsonNumbers } from "../src/json-numbers.js";

describe("jsonNumbers", () => {
  it("drops float noise from fractions and leaves integers alone", () => {
    expect(JSON.stringify({ a: 0.1 + 0.2, b: 0.0715 * 1, c: 0.07150000000000001 }, jsonNumbers)).toBe(
      '{"a":0.3,"b":0.0715,"c":0.0715}',
    );
    expect(JSON.stringify([1_767_268_800_123, 20581.61, -3, 1e-7], jsonNumbers)).toBe(
      "[1767268800123,20581.61,-3,1e-7]",
    );
  });
});

describe("rollingBudgetUse", () => {
  it("counts the previous minute's calls made after the reading 60 s ago, plus this minute's", () => {
    // 100 calls in minute 9 in all, 70 of them before the reading at 9:40; 25 so far in minute 10.
    expect(
      rollingBudgetUse(
        { minute: 10, thisMinute: 25, lastMinute: 100, msIntoMinute: 40_000 },
        { minute: 9, thisMinute: 70 },
      ),
    ).toBe(55);
  });
  it("estimates from the previous minute's share still in the window without an earlier reading", () => {
    expect(
      rollingBudgetUse({ minute: 10, thisMinute: 25, lastMinute: 120, msIntoMinute: 45_000 }, null),
    ).toBe(55);
  });
});

describe("thin", () => {
  it("keeps every n-th sample and the newest", () => {
    const xs = Array.from({ length: 25 }, (_, i) => i);
    const { step, samples } = thin(xs, 10);
    expect(step).toBe(3);
    expect(samples.at(-1)).toBe(24);
    expect(samples.length).toBeLessThanOrEqual(10);
    expect(thin(xs, 100).samples).toEqual(xs);
  });
});

describe("batchJobName", () => {
  it("says what the job is", () => {
    expect(batchJobName("hot", 30)).toBe("hot 30 mints");
    expect(batchJobName("cold", 1)).toBe("cold 1 mint");
  });
});
