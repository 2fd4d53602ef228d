import { describe, expect, it } from "vitest";
import { rssMb } from "../../bench/lib/memory.mjs";
import { soakVerdict, type Reading } from "../../bench/lib/soak.mjs";

// The soak's verdict decides the bench's exit code: it must catch a slow climb and a collapse, and
// judge nothing from the warm-up.

const minutes = (mbs: ReadonlyArray<number | null>, fromS = 0): Reading[] =>
  mbs.map((mb, i) => ({ tS: fromS + i * 60, mb }));

describe("soakVerdict", () => {
  const opts = { warmupS: 120, tolerance: 0.1 };

  it("takes the first reading at the end of the warm-up as the baseline and ignores the warm-up's growth", () => {
    const [v] = soakVerdict({ api: minutes([40, 80, 100, 104, 96, 109]) }, opts);
    expect(v).toMatchObject({ judged: true, baseMb: 100, minMb: 96, maxMb: 109, lastMb: 109, ok: true });
    expect(v!.up).toBeCloseTo(0.09, 3);
    expect(v!.down).toBeCloseTo(0.04, 3);
  });

  it("fails a slow climb past the tolerance; a dip fails only the series judged both ways", () => {
    const climb = minutes([100, 100, 100, 103, 106, 108, 111]);
    const dip = minutes([100, 100, 100, 85, 101]);
    const [c, rss, data] = soakVerdict({ climb, rss: dip, data: dip }, { ...opts, bothWays: ["data"] });
    expect(c).toMatchObject({ label: "climb", ok: false, maxMb: 111 });
    expect(rss).toMatchObject({ label: "rss", ok: true, minMb: 85, bothWays: false });
    expect(rss!.down).toBeCloseTo(0.15, 3);
    expect(data).toMatchObject({ label: "data", ok: false, minMb: 85, bothWays: true });
  });

  it("does not judge a series with no reading after its baseline, or one that is gone", () => {
    const verdict = soakVerdict({ short: minutes([50, 60, 70]), gone: minutes([50, 60, null, null]) }, opts);
    expect(verdict).toEqual([
      { label: "short", judged: false, readings: 1 },
      { label: "gone", judged: false, readings: 0 },
    ]);
  });
});

describe("rssMb", () => {
  it("reads this process's resident set and null for a pid that does not exist", () => {
    const mb = rssMb(process.pid);
    const own = process.memoryUsage().rss / 1_048_576;
    expect(mb).toBeGreaterThan(own * 0.8);
    expect(mb).toBeLessThan(own * 1.2);
    expect(rssMb(2 ** 22 + 12_345)).toBeNull();
  });
});
